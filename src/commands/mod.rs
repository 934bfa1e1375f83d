//! The subcommands other than running the bridge, one module each.

pub mod auth;
pub mod check;
pub mod completions;
pub mod config;
pub mod man;
pub mod oauth;
