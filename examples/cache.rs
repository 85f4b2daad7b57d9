//! A Flamego-style cache (flame-extra, feature `cache-redb`): an expensive computation is
//! served from the cache for a minute, forgotten on demand, and kept in a redb file so that a
//! restart starts warm.
//!
//! ```text
//! cargo run --example cache
//! curl http://localhost:2830/primes/1000000            # 78498 primes below 1000000 (computed)
//! curl http://localhost:2830/primes/1000000            # 78498 primes below 1000000 (cached)
//! curl -X DELETE http://localhost:2830/primes/1000000  # forgotten: the next GET computes
//! curl -X POST http://localhost:2830/flush             # everything forgotten
//! curl http://localhost:2830/computations              # how many times it computed
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use flame_core::{Context, Flame, HttpError};
use flame_extra::cache::{Cache, CacheError, CacheOptions, RedbStore, cacher_shared};

// ANCHOR: app
/// The largest bound `/primes/{n}` takes: the sieve's memory is bounded by it.
pub const MAX_N: u32 = 10_000_000;

/// The app, on any cache.
pub fn app(cache: Cache) -> Flame {
    let computations = Arc::new(AtomicUsize::new(0));
    let mut f = Flame::new();
    f.use_(cacher_shared(cache));
    let counter = computations.clone();
    f.get("/primes/{n}", move |c: Context, cache: Cache| {
        let counter = counter.clone();
        async move {
            let n = bound(&c)?;
            let key = format!("primes:{n}");
            if let Some(count) = cache.get::<usize>(&key).await.map_err(unavailable)? {
                return Ok(format!("{count} primes below {n} (cached)"));
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let count = tokio::task::spawn_blocking(move || count_primes(n))
                .await
                .map_err(|err| HttpError::internal(err.to_string()))?;
            cache
                .set(&key, &count, Duration::from_secs(60))
                .await
                .map_err(unavailable)?;
            Ok::<_, HttpError>(format!("{count} primes below {n} (computed)"))
        }
    });
    f.delete("/primes/{n}", |c: Context, cache: Cache| async move {
        let n = bound(&c)?;
        cache
            .delete(&format!("primes:{n}"))
            .await
            .map_err(unavailable)?;
        Ok::<_, HttpError>("forgotten")
    });
    f.post("/flush", |cache: Cache| async move {
        cache.flush().await.map(|()| "everything forgotten")
    });
    f.get("/computations", move || {
        computations.load(Ordering::SeqCst).to_string()
    });
    f
}

fn bound(c: &Context) -> Result<u32, HttpError> {
    c.param("n")
        .parse::<u32>()
        .ok()
        .filter(|n| *n <= MAX_N)
        .ok_or_else(|| HttpError::unprocessable(format!("n must be a number up to {MAX_N}")))
}

fn unavailable(err: CacheError) -> HttpError {
    tracing::error!(error = %err, "cache failure");
    HttpError::internal("cache unavailable")
}
// ANCHOR_END: app

/// The primes below `n`, by the sieve of Eratosthenes: the expensive part.
fn count_primes(n: u32) -> usize {
    let n = n as usize;
    let mut composite = vec![false; n];
    let mut count = 0;
    for i in 2..n {
        if !composite[i] {
            count += 1;
            for multiple in (i.saturating_mul(i)..n).step_by(i) {
                composite[multiple] = true;
            }
        }
    }
    count
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    flame_examples::init_tracing();
    // ANCHOR: main
    let store = RedbStore::open("flame-cache.redb")?.max_entries(100_000);
    let options = CacheOptions::default().gc_interval(Duration::from_secs(10 * 60));
    let cache = Cache::new(options, store);
    // ANCHOR_END: main
    let listener = flame_core::server::bind(&flame_core::server::listen_addr()).await?;
    app(cache)
        .serve_with_shutdown(listener, flame_core::server::shutdown_signal())
        .await?;
    Ok(())
}
