//! The `WWW-Authenticate` challenge reader, fed any header value a server can send.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_keybridge::parsers::challenge_detail;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(detail) = challenge_detail(header) {
        // The detail is a quoted value's inside: it never runs past its closing quote.
        assert!(!detail.contains('"'));
        assert!(header.contains(detail.as_str()));
    }
});
