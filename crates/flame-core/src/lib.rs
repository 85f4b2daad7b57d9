//! flame's web core: Flamego-style handlers, injection, middleware and routing on axum.

pub mod router;
