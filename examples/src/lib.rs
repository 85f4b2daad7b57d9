//! Shared helpers for flame's examples and their tests.

/// Sets up `tracing` output for an example: `RUST_LOG` if set, `info` otherwise.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (several examples in one test binary) is harmless.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}
