//! Flamego's middleware family for flame, each module behind a feature of its own (as
//! axum-extra does) and built on a crate the Rust world already trusts; `default = []`.
//!
//! # Contents
//!
//! - [`session`] (feature `session`): Flamego-style cookie sessions: an injected
//!   [`Session`](session::Session) with typed values through serde, rotation on sign-in, idle
//!   and absolute expiry, bounded data, a [`SessionStore`](session::SessionStore) trait with a
//!   memory store and (feature `session-redb`) a persistent redb store.
//! - [`cache`] (feature `cache`): a Flamego-style cache: [`cacher`](cache::cacher) maps a
//!   [`Cache`](cache::Cache) handle with typed `get`/`set` (a lifetime)/`delete`/`flush`,
//!   bounded keys and values, a [`CacheStore`](cache::CacheStore) trait with a bounded memory
//!   store and (feature `cache-redb`) a persistent redb store, expired entries purged by a task.
//! - [`csrf`] (feature `csrf`): CSRF protection for cookie-session apps: a per-session
//!   token ([`Csrf`](csrf::Csrf)), checked on unsafe methods from a header or a form field,
//!   after `Sec-Fetch-Site` / `Origin` checks; 403 with the reason.
//! - [`sse`] (feature `sse`): server-sent events as a return value
//!   ([`Sse`](sse::Sse) over a `Stream` of [`Event`](sse::Event)s), keep-alive comments, the
//!   stream dropped when the client goes away.
//! - [`rate_limit`] (feature `rate-limit`): per-key rate limiting as middleware
//!   ([`rate_limiter`](rate_limit::rate_limiter)): a GCRA keyed by the client's IP or by any
//!   closure over the request, `429` with `Retry-After`, a bounded table of keys.
//! - [`template`] (feature `template`): templates on minijinja as an injected service
//!   ([`templater`](template::templater) maps a [`Template`](template::Template) and a
//!   per-request [`Data`](template::Data)), HTML auto-escaping, a logged 500 on failure.
//! - [`cors`] (feature `cors`), [`compression`] (feature `compression`), [`request_id`]
//!   (feature `request-id`), [`timeout`] (feature `timeout`): tower-http's layers with
//!   Flamego's defaults, for [`Flame::layer`](flame_core::Flame::layer): `cors::permissive()`
//!   and `cors::Options`, `compression::gzip_and_brotli()`, `request_id::x_request_id()`,
//!   `timeout::request_timeout(d)` (408); the book's "Common layers" page.
//! - [`auth`] (feature `auth`): HTTP basic and bearer authentication (flamego/auth):
//!   [`basic`](auth::basic) / [`basic_fn`](auth::basic_fn) map the [`User`](auth::User),
//!   [`bearer`](auth::bearer) / [`bearer_fn`](auth::bearer_fn) the [`Token`](auth::Token);
//!   Flamego's 401 otherwise; secrets compared in constant time.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

#[cfg(feature = "auth")]
pub mod auth;
#[cfg(feature = "cache")]
pub mod cache;
#[cfg(feature = "compression")]
pub mod compression;
#[cfg(feature = "cors")]
pub mod cors;
#[cfg(feature = "csrf")]
pub mod csrf;
#[cfg(feature = "rate-limit")]
pub mod rate_limit;
#[cfg(feature = "request-id")]
pub mod request_id;
#[cfg(feature = "session")]
pub mod session;
#[cfg(feature = "sse")]
pub mod sse;
#[cfg(feature = "template")]
pub mod template;
#[cfg(feature = "timeout")]
pub mod timeout;
