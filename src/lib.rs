//! mcp-keybridge as a library: the modules the binary is built from, public so that the
//! fuzz targets, benchmarks and property tests can reach the parsers and the relay.

pub mod bridge;
pub mod cli;
pub mod commands;
pub mod config;
pub mod credentials;
pub mod demo;
pub mod era;
pub mod error;
pub mod jsonrpc;
pub mod logging;
pub mod normalize;
pub mod oauth;
pub mod profile;
pub mod relay;
pub mod router;
pub mod secret;
pub mod sse;
pub mod stdio;
pub mod sync;
pub mod tool_filter;
pub mod translate;
pub mod transport;
