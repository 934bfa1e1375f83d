//! Credential references (`--bearer REF`) and header templates (`-H 'Name: ${REF}'`).
//!
//! Invariants: no panic; a parsed template, written back out, parses to the same template;
//! an error message never repeats more than the start of what looked like a token.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_keybridge::parsers::{Part, SecretRef, Template};

/// The template as a user could have written it.
fn render(t: &Template) -> String {
    t.0.iter()
        .map(|p| match p {
            Part::Literal(s) => s.clone(),
            Part::Ref(r) => format!("${{{r}}}"),
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match SecretRef::parse(text) {
        Ok(r) => assert_eq!(SecretRef::parse(&r.to_string()), Ok(r)),
        Err(e) => {
            let msg = e.to_string();
            if text.len() > 24 && !text.contains(':') {
                assert!(!msg.contains(text), "error repeats the input: {msg}");
            }
        }
    }
    if let Ok(t) = Template::parse(text) {
        let again = Template::parse(&render(&t)).expect("a rendered template parses");
        assert_eq!(again, t);
    }
});
