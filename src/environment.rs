//! How the configuration reads environment variables: through a function rather than
//! `std::env` directly, so that tests give their own environment without touching the
//! process's. `config.rs`, `profile.rs` (where `config.toml` is) and `config`'s client table
//! all take one.

/// Reads an environment variable as the process sees it; a seam for tests.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;
