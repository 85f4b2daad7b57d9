//! Flamego's routing, in Rust: static routes, placeholders, regular expressions, globs,
//! optional segments, groups, combos, header and predicate matching, named routes, the
//! not-found handler and automatic HEAD.
//!
//! ```text
//! cargo run --example routing
//! curl http://localhost:2830/users/joe                          # The user is joe
//! curl http://localhost:2830/posts/2021-11-26.html              # The post date is 2021-11-26
//! curl http://localhost:2830/webhooks/flamego/flamego/events    # The event is for flamego/flamego
//! ```

use flame_core::{Context, Flame};

/// Title-cases a word: "boston" -> "Boston".
fn title(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub fn app() -> Flame {
    let mut f = Flame::new();
    static_routes(&mut f);
    placeholders(&mut f);
    regular_expressions(&mut f);
    globs(&mut f);
    optional_and_groups(&mut f);
    matching(&mut f);
    f
}

// ANCHOR: static
fn static_routes(f: &mut Flame) {
    // Trailing slashes are significant: this matches `/user/` only, not `/user`.
    f.get("/user/", || "You got it!");
}
// ANCHOR_END: static

// ANCHOR: placeholders
fn placeholders(f: &mut Flame) {
    f.get("/users/{name}", |c: Context| {
        format!("The user is {}", c.param("name"))
    });
    f.get("/posts/{year}-{month}-{day}.html", |c: Context| {
        format!(
            "The post date is {}-{}-{}",
            c.param_int("year"),
            c.param_int("month"),
            c.param_int("day")
        )
    });
    f.get("/geo/{state}/{city}", |c: Context| {
        format!(
            "Welcome to {}, {}!",
            title(c.param("city")),
            c.param("state").to_uppercase()
        )
    });
}
// ANCHOR_END: placeholders

// ANCHOR: regex
fn regular_expressions(f: &mut Flame) {
    f.get("/re/users/{name: /[a-zA-Z0-9]+/}", |c: Context| {
        format!("The user is {}", c.param("name"))
    });
    f.get(
        "/re/posts/{year: /[0-9]{4}/}-{month: /[0-9]{2}/}-{day: /[0-9]{2}/}.html",
        |c: Context| {
            format!(
                "The post date is {}-{}-{}",
                c.param("year"),
                c.param("month"),
                c.param("day")
            )
        },
    );
    f.get("/re/geo/{state: /[A-Z]{2}/}/{city}", |c: Context| {
        format!(
            "Welcome to {}, {}!",
            title(c.param("city")),
            c.param("state")
        )
    });
}
// ANCHOR_END: regex

// ANCHOR: globs
fn globs(f: &mut Flame) {
    f.get("/articles/{**}", |c: Context| {
        format!("The article is {}", c.param("**"))
    });
    f.get("/webhooks/{repo: **}/events", |c: Context| {
        format!("The event is for {}", c.param("repo"))
    });
    f.get("/places/{**: **, capture: 2}", |c: Context| {
        let fields: Vec<&str> = c.param("**").split('/').collect();
        format!(
            "Welcome to {}, {}!",
            title(fields.get(1).copied().unwrap_or_default()),
            fields[0].to_uppercase()
        )
    });
    // Several globs, separated by a static segment.
    f.get("/files/{prefix: **}/blob/{path: **}", |c: Context| {
        format!("prefix={} path={}", c.param("prefix"), c.param("path"))
    });
}
// ANCHOR_END: globs

// ANCHOR: optional
fn optional_and_groups(f: &mut Flame) {
    // Optional last segments: `/account` and `/account/settings` share a route.
    f.get("/account/?settings", |c: Context| {
        format!("route {} for {}", c.route(), c.uri().path())
    });
    f.get("/people/?{name}", |c: Context| {
        format!("people: [{}]", c.param("name"))
    });
    f.get("/links", |c: Context| {
        let a = c.url_path("account_settings", &[]).unwrap_or_default();
        let b = c
            .url_path("account_settings", &[("withOptional", "true")])
            .unwrap_or_default();
        let p = c.url_path("person", &[("name", "joe")]).unwrap_or_default();
        format!("{a} {b} {p}")
    });
    f.get("/named/account/?settings", || "")
        .name("account_settings");
    f.get("/named/people/{name}", || "").name("person");

    // Groups combine paths by concatenation, so "/sett" + "ings" is "/settings".
    f.group(
        "/profile",
        |f| {
            f.get("/info", || "profile info");
            f.group(
                "/sett",
                |f| {
                    f.get("ings", || "profile settings");
                    f.get("ings/security", || "profile security");
                },
                (),
            );
        },
        |c: Context| {
            c.response_writer()
                .headers_mut()
                .insert("x-group", "profile".parse().expect("valid"));
        },
    );

    // One path, a handler per method.
    f.combo("/cart")
        .get(|| "the cart")
        .post(|| "added to the cart");
}
// ANCHOR_END: optional

// ANCHOR: matching
fn matching(f: &mut Flame) {
    // Header and predicate constraints: a route that does not match falls through to the next.
    f.get("/browser", || "Hello, Chrome!")
        .headers("User-Agent", "Chrome");
    f.get("/{page}", |c: Context| {
        format!("Generic page {}", c.param("page"))
    });
    f.get("/beta/{feature}", |c: Context| {
        format!("Beta {}", c.param("feature"))
    })
    .matches(|head| head.uri.query() == Some("beta=on"));
    f.get("/beta/{**}", || "Beta is off");

    // HEAD is registered for the GET routes that follow.
    f.auto_head(true);
    f.get("/health", || "ok");

    f.not_found(|| "This is a cool 404 page");
}
// ANCHOR_END: matching

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app().run()?;
    Ok(())
}
