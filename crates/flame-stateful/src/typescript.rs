//! TypeScript declarations of actors, for the JavaScript client (feature `typescript`).
//!
//! `#[actions]` gives every actor an associated function `typescript()` that returns a `.d.ts`
//! module: the actor as a type (`export type Counter = { actions: ...; events: ... }`) and
//! every type its actions and events use, declared through [`ts-rs`](https://docs.rs/ts-rs).
//! The JavaScript client's own declarations are [`CLIENT_DTS`](crate::transport::CLIENT_DTS),
//! served beside it at `{prefix}/client.d.ts`; with both, a TypeScript program calls the actor
//! with checked argument and return types:
//!
//! ```ts
//! import { connect } from "./client.js";
//! import type { Counter } from "./counter.js";
//! const counter = connect<Counter>("", "counter", "main");
//! const n: number = await counter.call("increment", 1);
//! counter.on("countUpdated", ({ count }) => console.log(count));
//! ```
//!
//! Types of arguments, outputs and event payloads implement [`TS`] (`#[derive(TS)]` from the
//! `ts-rs` crate; serde's `rename`, `rename_all`, `tag` and friends are honoured). Integers are
//! `number`, as `JSON.parse` reads them, not ts-rs's default `bigint`. Events are declared on
//! the impl block, since `ctx.broadcast(name, payload)` names them at run time:
//!
//! ```
//! use flame_stateful::{actions, ActorError, InitCtx, Rpc, StatefulActor};
//! use flame_stateful::typescript::TS;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, TS)]
//! #[ts(crate = "flame_stateful::typescript::ts_rs")]
//! struct CountUpdated {
//!     count: u32,
//! }
//!
//! /// What a client sends when it connects.
//! #[derive(Deserialize, TS)]
//! #[ts(crate = "flame_stateful::typescript::ts_rs")]
//! struct Params {
//!     token: String,
//! }
//!
//! struct Counter;
//!
//! impl StatefulActor for Counter {
//!     type State = u32;
//!     type ConnParams = Params;
//!     type ConnState = ();
//!
//!     async fn on_initialize(&self, _: &InitCtx) -> Result<u32, ActorError> {
//!         Ok(0)
//!     }
//! }
//!
//! #[actions(events(countUpdated = CountUpdated))]
//! impl Counter {
//!     fn increment(&self, rpc: &mut Rpc<Self>, by: u32) -> u32 {
//!         *rpc.state_mut() += by;
//!         let count = *rpc.state();
//!         rpc.broadcast("countUpdated", CountUpdated { count });
//!         count
//!     }
//! }
//!
//! let dts = Counter::typescript();
//! assert!(dts.contains("export type CountUpdated = { count: number, };"));
//! assert!(dts.contains("increment(by: number): number;"));
//! assert!(dts.contains("countUpdated: CountUpdated;"));
//! assert!(dts.contains("params: Params;"));
//! assert!(dts.contains("/**\n * What a client sends when it connects.\n */\nexport type Params"));
//! ```

use std::collections::HashSet;
use std::fmt::Write as _;

pub use ts_rs::{self, TS};

/// The ts-rs settings flame writes with: 64-bit integers are `number`, since the JSON the
/// client reads becomes a JavaScript number.
fn config() -> ts_rs::Config {
    ts_rs::Config::new().with_large_int("number")
}

/// Collects the TypeScript of one actor: its actions, events and the types they name.
///
/// Used by the code `#[actions]` writes; call the actor's `typescript()` instead.
#[doc(hidden)]
pub struct Declarations {
    config: ts_rs::Config,
    seen: HashSet<String>,
    types: Vec<String>,
    params: String,
    actions: Vec<String>,
    events: Vec<String>,
}

impl std::fmt::Debug for Declarations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Declarations")
            .field("types", &self.types)
            .field("params", &self.params)
            .field("actions", &self.actions)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl Default for Declarations {
    fn default() -> Self {
        Self {
            config: config(),
            seen: HashSet::new(),
            types: Vec::new(),
            params: "unknown".to_owned(),
            actions: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl Declarations {
    /// The TypeScript name of `T`, declaring `T` and every type it names on the way.
    pub fn name_of<T: TS + 'static + ?Sized>(&mut self) -> String {
        self.declare::<T>();
        T::name(&self.config)
    }

    fn declare<T: TS + 'static + ?Sized>(&mut self) {
        struct Visit<'a>(&'a mut Declarations);
        impl ts_rs::TypeVisitor for Visit<'_> {
            fn visit<U: TS + 'static + ?Sized>(&mut self) {
                self.0.declare::<U>();
            }
        }
        // Only types ts-rs could export to a file of their own have a declaration: a
        // primitive, `Vec` or `Option` is written inline where it is used.
        if T::output_path().is_some() && self.seen.insert(T::ident(&self.config)) {
            let mut declaration = String::new();
            if let Some(docs) = T::docs() {
                declaration.push_str(&docs);
            }
            declaration.push_str("export ");
            declaration.push_str(&T::decl(&self.config));
            self.types.push(declaration);
        }
        T::visit_dependencies(&mut Visit(self));
    }

    /// Sets the TypeScript type of the connection params.
    pub fn params(&mut self, params: String) {
        self.params = params;
    }

    /// Adds the action `name(params...): output`; `params` are (name, TypeScript type).
    ///
    /// Trailing parameters whose type admits `null` are optional (`by?: number | null`):
    /// a missing trailing argument reads as `null` on the server.
    /// `docs` (the method's doc comment) becomes its JSDoc.
    pub fn action(&mut self, docs: &str, name: &str, params: &[(&str, String)], output: &str) {
        let required = params
            .iter()
            .rposition(|(_, ty)| !ty.ends_with("| null"))
            .map_or(0, |last| last + 1);
        let params = params
            .iter()
            .enumerate()
            .map(|(i, (param, ty))| {
                let optional = if i >= required { "?" } else { "" };
                format!("{param}{optional}: {ty}")
            })
            .collect::<Vec<_>>()
            .join(", ");
        if !docs.trim().is_empty() {
            // `*/` would end the comment early.
            let docs = docs.trim().replace("*/", "*\\/");
            let lines: Vec<&str> = docs.lines().collect();
            if let [line] = lines.as_slice() {
                self.actions.push(format!("    /** {line} */"));
            } else {
                self.actions.push("    /**".to_owned());
                for line in lines {
                    self.actions
                        .push(format!("     * {line}").trim_end().to_owned());
                }
                self.actions.push("     */".to_owned());
            }
        }
        self.actions
            .push(format!("    {}({params}): {output};", property(name)));
    }

    /// Adds the event `name` with payloads of the TypeScript type `payload`.
    pub fn event(&mut self, name: &str, payload: &str) {
        self.events
            .push(format!("    {}: {payload};", property(name)));
    }

    /// The `.d.ts` module of the actor `actor`.
    pub fn finish(self, actor: &str) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "// Generated by flame from `#[actions] impl {actor}`: regenerate it with \
             `{actor}::typescript()` rather than editing it.\n"
        );
        for declaration in &self.types {
            let _ = writeln!(out, "{declaration}\n");
        }
        let _ = writeln!(
            out,
            "/** The actions and events of `{actor}`: `connect<{actor}>(url, name, key)`. */"
        );
        let _ = writeln!(out, "export type {actor} = {{");
        let _ = writeln!(out, "  params: {};", self.params);
        let _ = writeln!(out, "  actions: {{");
        for action in &self.actions {
            let _ = writeln!(out, "{action}");
        }
        let _ = writeln!(out, "  }};");
        let _ = writeln!(out, "  events: {{");
        for event in &self.events {
            let _ = writeln!(out, "{event}");
        }
        let _ = writeln!(out, "  }};");
        let _ = writeln!(out, "}};");
        out
    }
}

/// A type `#[actions]` can name in TypeScript.
///
/// The lifetime only lets the code `#[actions]` writes put `T: Described<'a>` in a `where`
/// clause that is checked where `typescript()` is called, not where the actor is defined.
#[doc(hidden)]
pub trait Described<'a> {
    /// The TypeScript name of the type, declaring it in `declarations` on the way.
    fn name(declarations: &mut Declarations) -> String;
}

impl<T: TS + 'static + ?Sized> Described<'_> for T {
    fn name(declarations: &mut Declarations) -> String {
        declarations.name_of::<T>()
    }
}

/// `name` as a TypeScript property name: bare when it is an identifier, quoted otherwise.
fn property(name: &str) -> String {
    let mut chars = name.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if identifier {
        name.to_owned()
    } else {
        // A JSON string is a TypeScript string literal.
        serde_json::Value::String(name.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_not_identifiers_are_quoted() {
        assert_eq!(property("increment"), "increment");
        assert_eq!(property("count-updated"), "\"count-updated\"");
        assert_eq!(property("2fa"), "\"2fa\"");
        assert_eq!(property("say \"hi\""), "\"say \\\"hi\\\"\"");
    }

    #[test]
    fn trailing_nullable_parameters_are_optional() {
        let mut d = Declarations::default();
        let nullable = || "number | null".to_owned();
        d.action(
            "",
            "a",
            &[("x", nullable()), ("y", "string".into()), ("z", nullable())],
            "null",
        );
        d.action(
            "Two.\nLines, one */ inside.",
            "b",
            &[("x", nullable()), ("y", nullable())],
            "number",
        );
        d.action("One line.", "c", &[], "number");
        assert_eq!(
            d.actions,
            [
                "    a(x: number | null, y: string, z?: number | null): null;",
                "    /**",
                "     * Two.",
                "     * Lines, one *\\/ inside.",
                "     */",
                "    b(x?: number | null, y?: number | null): number;",
                "    /** One line. */",
                "    c(): number;",
            ]
        );
    }

    #[test]
    fn large_integers_are_numbers_and_std_types_are_inline() {
        let mut d = Declarations::default();
        assert_eq!(d.name_of::<u64>(), "number");
        assert_eq!(d.name_of::<Vec<String>>(), "Array<string>");
        assert_eq!(d.name_of::<Option<i32>>(), "number | null");
        assert!(d.types.is_empty());
    }
}
