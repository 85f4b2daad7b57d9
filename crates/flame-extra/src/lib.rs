//! Flamego's middleware family for flame, each module behind a feature of its own (as
//! axum-extra does) and built on a crate the Rust world already trusts; `default = []`.
//!
//! # Contents
//!
//! - [`session`] (feature `session`): Flamego-style cookie sessions: an injected
//!   [`Session`](session::Session) with typed values through serde, rotation on sign-in, idle
//!   and absolute expiry, bounded data, a [`SessionStore`](session::SessionStore) trait with a
//!   memory store and (feature `session-redb`) a persistent redb store.
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
//!
//! tower-http's layers (CORS, compression, request ids, timeouts) already work on flame
//! through [`Flame::layer`](flame_core::Flame::layer) and
//! [`tower_layer`](flame_core::tower_layer); see the book's "tower layers" page.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::print_stdout))]

#[cfg(feature = "csrf")]
pub mod csrf;
#[cfg(feature = "rate-limit")]
pub mod rate_limit;
#[cfg(feature = "session")]
pub mod session;
#[cfg(feature = "sse")]
pub mod sse;
#[cfg(feature = "template")]
pub mod template;
