//! What the example tests share: the workspace's loopback [`TestServer`] and a headless browser.

#![allow(dead_code)]

pub mod browser;

// The one loopback server helper of the workspace's tests.
pub use flame_test_support::TestServer;
