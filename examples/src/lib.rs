//! Shared helpers for flame's examples and their tests.
