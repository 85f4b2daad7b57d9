//! The seed's three "Return values" programs side by side: plain values under `/plain`,
//! values with a status code under `/status`, body-or-error under `/result`.
//!
//! ```text
//! cargo run --example return_values
//! curl -i http://localhost:2830/plain/error    # 500, Return an error
//! curl -i http://localhost:2830/status/error   # 403, Return an error
//! ```

use flame_core::{Flame, StatusCode};

pub fn app() -> Flame {
    let mut f = Flame::new();
    f.group("/plain", plain, ());
    f.group("/status", with_status, ());
    f.group("/result", body_or_error, ());
    f
}

// ANCHOR: plain
fn plain(f: &mut Flame) {
    f.get("/string", || "Return a string");
    f.get("/bytes", || b"Return some bytes".to_vec());
    f.get("/error", || -> Result<(), anyhow::Error> {
        Err(anyhow::anyhow!("Return an error"))
    });
    // The seed's TIP: return no error, and nothing is written (200, empty body).
    f.get("/no-error", || -> Result<(), anyhow::Error> { Ok(()) });
}
// ANCHOR_END: plain

// ANCHOR: status
fn with_status(f: &mut Flame) {
    f.get("/string", || (StatusCode::OK, "Return a string"));
    f.get("/bytes", || (StatusCode::OK, b"Return some bytes".to_vec()));
    f.get("/error", || {
        (
            StatusCode::FORBIDDEN,
            Err::<(), _>(anyhow::anyhow!("Return an error")),
        )
    });
}
// ANCHOR_END: status

// ANCHOR: result
fn body_or_error(f: &mut Flame) {
    f.get("/string", || -> Result<&'static str, anyhow::Error> {
        Ok("Return a string")
    });
    f.get("/bytes", || -> Result<Vec<u8>, anyhow::Error> {
        Ok(b"Return some bytes".to_vec())
    });
    // A non-nil error is answered instead of the body.
    f.get("/error", || -> Result<&'static str, std::io::Error> {
        Err(std::io::Error::other("Return an error"))
    });
}
// ANCHOR_END: result

fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    app().run()?;
    Ok(())
}
