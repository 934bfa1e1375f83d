//! The subcommands other than running the bridge, one module each.

pub mod auth;
pub mod oauth;
