//! Response compression (flamego/gzip, flamego/brotli) on tower-http's `CompressionLayer`.
//!
//! ```
//! use flame_core::Flame;
//!
//! let mut f = Flame::new();
//! f.layer(flame_extra::compression::gzip_and_brotli());
//! f.get("/", || "hello ".repeat(100));
//! ```
//!
//! The encoding follows the request's `Accept-Encoding` with its `q` weights; brotli wins a
//! tie with gzip. The response gets `content-encoding` and `vary: accept-encoding`. Bodies
//! under 32 bytes, images, `text/event-stream` and gRPC are sent as they are, as is a
//! response that already has a `content-encoding` (tower-http's default predicate).

use tower_http::compression::CompressionLayer;

/// gzip and brotli at tower-http's default levels, chosen by `Accept-Encoding`; deflate and
/// zstd are not offered.
///
/// ```
/// use flame_core::Flame;
///
/// let mut f = Flame::new();
/// f.layer(flame_extra::compression::gzip_and_brotli());
/// ```
pub fn gzip_and_brotli() -> CompressionLayer {
    CompressionLayer::new().no_deflate().no_zstd()
}

/// gzip only, as Flamego's `gzip.Gzip()`.
///
/// ```
/// use flame_core::Flame;
///
/// let mut f = Flame::new();
/// f.layer(flame_extra::compression::gzip());
/// ```
pub fn gzip() -> CompressionLayer {
    gzip_and_brotli().no_br()
}

/// brotli only, as Flamego's `brotli.Brotli()`.
///
/// ```
/// use flame_core::Flame;
///
/// let mut f = Flame::new();
/// f.layer(flame_extra::compression::brotli());
/// ```
pub fn brotli() -> CompressionLayer {
    gzip_and_brotli().no_gzip()
}
