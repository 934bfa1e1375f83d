//! The config file (`config.toml` profiles): any text a user, or another user able to
//! write the file, could put there. Invariant: no panic, only located errors.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_keybridge::parsers::profile;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = profile::parse("default", text, Path::new("config.toml"));
});
