//! The `counter` example's TypeScript declarations: `Counter::typescript()` matches the
//! committed `examples/typescript/counter.d.ts`; `tsc --strict` (from the npm registry)
//! accepts the typed client `examples/typescript/main.ts` and refuses a wrong call; and the
//! compiled client runs under Node.js against the real server.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::TestServer;
use serde_json::Value;

#[allow(dead_code)]
#[path = "../counter.rs"]
mod counter;

/// The TypeScript compiler the test installs from the npm registry.
const TYPESCRIPT: &str = "typescript@5.9.3";

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("typescript")
}

/// `FLAME_BLESS=1 cargo test -p flame-examples --test typescript` rewrites the committed
/// declarations after a change to the actor.
#[test]
fn the_committed_declarations_are_what_the_actions_generate() {
    let path = examples_dir().join("counter.d.ts");
    let generated = counter::Counter::typescript();
    if std::env::var_os("FLAME_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write counter.d.ts");
    }
    let committed = std::fs::read_to_string(&path).expect("read counter.d.ts");
    assert_eq!(
        committed, generated,
        "examples/typescript/counter.d.ts is stale: run with FLAME_BLESS=1 to rewrite it"
    );
    // What the declarations say, in the words a TypeScript user reads.
    for line in [
        "export type CountUpdated = { count: number, };",
        "export type ConnParams = { auth_token: string, };",
        "  params: ConnParams;",
        "    increment(by?: number | null): number;",
        "    get_count(): number;",
        "    countUpdated: CountUpdated;",
    ] {
        assert!(generated.contains(line), "{line:?} in:\n{generated}");
    }
}

/// Node.js and npm, or `None` outside CI when either is missing (CI must have them:
/// `.ci/run` installs them).
fn node_or_skip() -> Option<()> {
    let found = ["node", "npm"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the TypeScript test: .ci/run installs nodejs and npm"
        );
        println!("SKIPPED: no node or npm on PATH (.ci/run installs them)");
        return None;
    }
    Some(())
}

/// `tsc` installed once per target directory from the npm registry.
fn tsc() -> PathBuf {
    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("typescript-toolchain");
    let tsc = prefix.join("node_modules/typescript/bin/tsc");
    if !tsc.exists() {
        std::fs::create_dir_all(&prefix).expect("toolchain dir");
        let out = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--prefix",
            ])
            .arg(&prefix)
            .arg(TYPESCRIPT)
            .output()
            .expect("npm runs");
        assert!(
            out.status.success(),
            "npm install {TYPESCRIPT}: {}",
            text(&out)
        );
    }
    tsc
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Compiles `main.ts` in `dir` with `tsc --strict` to `dir/out`.
fn compile(tsc: &Path, dir: &Path) -> Output {
    Command::new("node")
        .arg(tsc)
        .args([
            "--strict",
            "--target",
            "es2022",
            "--module",
            "es2022",
            "--moduleResolution",
            "bundler",
            "--lib",
            "es2022,dom",
            "--outDir",
            "out",
            "main.ts",
        ])
        .current_dir(dir)
        .output()
        .expect("tsc runs")
}

/// A directory holding the client's and the counter's declarations and `program` as main.ts.
fn project(program: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("client.d.ts"),
        flame_stateful::transport::CLIENT_DTS,
    )
    .expect("client.d.ts");
    std::fs::write(
        dir.path().join("counter.d.ts"),
        counter::Counter::typescript(),
    )
    .expect("counter.d.ts");
    std::fs::write(dir.path().join("main.ts"), program).expect("main.ts");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn tsc_checks_the_typed_client_and_node_runs_it_against_the_server() {
    if node_or_skip().is_none() {
        return;
    }
    let tsc = tsc();

    // A call the declarations do not allow is a compile error, so the check below can fail.
    let wrong = project(
        "import { connect } from \"./client.js\";\n\
         import type { Counter } from \"./counter.js\";\n\
         const c = connect<Counter>(\"\", \"counter\", \"k\", { auth_token: \"t\" });\n\
         void c.call(\"decrement\");\n",
    );
    let out = compile(&tsc, wrong.path());
    assert!(!out.status.success(), "tsc accepted a call to no action");
    assert!(text(&out).contains("decrement"), "{}", text(&out));

    let program = std::fs::read_to_string(examples_dir().join("main.ts")).expect("main.ts");
    let dir = project(&program);
    let out = compile(&tsc, dir.path());
    assert!(out.status.success(), "tsc --strict: {}", text(&out));

    // The emitted module imports ./client.js: the served client, beside it.
    let emitted = dir.path().join("out");
    std::fs::write(
        emitted.join("client.js"),
        flame_stateful::transport::CLIENT_JS,
    )
    .expect("client.js");
    std::fs::write(emitted.join("package.json"), r#"{"type":"module"}"#).expect("package.json");

    let data = tempfile::tempdir().expect("tempdir");
    let (f, system) = counter::app(data.path()).await.expect("app");
    let server = TestServer::start(f).await;
    let base = format!("http://{}", server.addr());
    let run = tokio::process::Command::new("node")
        .arg("--experimental-websocket")
        .arg(emitted.join("main.js"))
        .arg(&base)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("node finishes")
        .expect("node runs");
    assert!(out.status.success(), "node: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().expect("a line of output");
    let result: Value = serde_json::from_str(line).expect("JSON");
    assert_eq!(result["first"], 2);
    assert_eq!(result["second"], 3);
    assert_eq!(result["now"], 3);
    assert_eq!(result["updates"], serde_json::json!([2, 3]));
    system.shutdown().await;
    server.stop().await;
}
