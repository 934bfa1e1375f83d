//! Property tests for the parsers that read untrusted input: the SSE decoder (any cut of a
//! stream decodes alike), stdin framing (lines written out come back), stdout's one-line
//! rule, header templates (parse ∘ render is the identity), and no panics on any input for
//! the `WWW-Authenticate`, credential reference, config and JSON-RPC readers. The fuzz
//! targets in `fuzz/` explore the same code coverage-guided; these run in every `cargo test`.

use bytes::Bytes;
use mcp_keybridge::parsers::{
    Decoder, Event, Frame, LineReader, Part, SecretRef, Template, challenge_detail, jsonrpc,
    profile,
};
use proptest::prelude::*;
use serde_json::Value;

/// Decodes `stream` cut at `cuts` (byte offsets, any order, may repeat).
fn decode_cut(stream: &[u8], cuts: &[usize], limit: usize) -> Option<Vec<Event>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    let mut dec = Decoder::new(limit);
    let mut events = Vec::new();
    let mut from = 0;
    for to in cuts.into_iter().chain([stream.len()]) {
        events.extend(dec.push(&stream[from..to]).ok()?);
        from = to;
    }
    Some(events)
}

/// An event as a server would write it, with `eol` line ends.
fn render_event(ev: &Event, eol: &str) -> String {
    let mut out = String::new();
    if let Some(e) = &ev.event {
        out += &format!("event: {e}{eol}");
    }
    if let Some(id) = &ev.id {
        out += &format!("id: {id}{eol}");
    }
    if let Some(r) = ev.retry {
        out += &format!("retry:{r}{eol}");
    }
    out += &format!(": a comment{eol}");
    for line in ev.data.split('\n') {
        out += &format!("data: {line}{eol}");
    }
    out + eol
}

fn event() -> impl Strategy<Value = Event> {
    let field = "[a-zA-Z0-9 {}\":,é]{1,12}";
    (
        proptest::option::of("[a-z]{1,8}"),
        "[a-zA-Z0-9 {}\":,é\n]{1,40}",
        proptest::option::of(field),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(event, data, id, retry)| Event {
            event,
            data,
            id,
            retry: retry.map(u64::from),
        })
}

/// JSON values, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z \n\"\\\\é]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z\n]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Template pieces: literals (never `${`) and references.
fn template() -> impl Strategy<Value = Template> {
    let literal = "[a-zA-Z0-9 $=-]{1,8}".prop_map(Part::Literal);
    let reference = (
        prop_oneof![Just("env"), Just("keychain"), Just("cmd"), Just("file")],
        "[A-Za-z0-9_][A-Za-z0-9_./: -]{0,10}",
    )
        .prop_map(|(scheme, rest)| {
            Part::Ref(SecretRef::parse(&format!("{scheme}:{rest}")).expect("valid reference"))
        });
    prop::collection::vec(prop_oneof![literal, reference], 0..6).prop_map(|parts| {
        // Adjacent literals read back as one.
        let mut merged: Vec<Part> = Vec::new();
        for part in parts {
            match (merged.last_mut(), part) {
                (Some(Part::Literal(a)), Part::Literal(b)) => a.push_str(&b),
                (_, part) => merged.push(part),
            }
        }
        Template(merged)
    })
}

fn render_template(t: &Template) -> String {
    t.0.iter()
        .map(|p| match p {
            Part::Literal(s) => s.clone(),
            Part::Ref(r) => format!("${{{r}}}"),
        })
        .collect()
}

fn read_frames(input: &[u8], cap: usize, max: usize) -> Vec<Frame> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut lines = LineReader::new(tokio::io::BufReader::with_capacity(cap, input), max);
        let mut frames = Vec::new();
        while let Some(f) = lines.next_frame().await.expect("read") {
            frames.push(f);
        }
        frames
    })
}

proptest! {
    #[test]
    fn sse_events_survive_any_cut(
        events in prop::collection::vec(event(), 1..5),
        crlf in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let stream: String = events.iter().map(|e| render_event(e, eol)).collect();
        let got = decode_cut(stream.as_bytes(), &cuts, 1 << 16).expect("decodes");
        prop_assert_eq!(got, events);
    }

    #[test]
    fn sse_decoding_of_any_bytes_does_not_depend_on_cuts(
        stream in prop::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'\r'), Just(b':'), Just(b' '), any::<u8>(),
                        Just(b'd'), Just(b'a'), Just(b't')],
            0..200,
        ),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let whole = decode_cut(&stream, &[], 64);
        let cut = decode_cut(&stream, &cuts, 64);
        if let (Some(whole), Some(cut)) = (whole, cut) {
            prop_assert_eq!(whole, cut);
        }
    }

    #[test]
    fn sse_never_holds_an_event_over_the_limit(
        stream in prop::collection::vec(any::<u8>(), 0..400),
        limit in 1usize..64,
    ) {
        for ev in decode_cut(&stream, &[7, 50, 300], limit).unwrap_or_default() {
            prop_assert!(ev.data.len() <= limit);
        }
    }

    #[test]
    fn stdin_lines_round_trip(
        lines in prop::collection::vec("[ -~é\t]{0,30}[!-~é]", 0..8),
        crlf in any::<bool>(),
        cap in 1usize..16,
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let input: String = lines.iter().map(|l| format!("{l}{eol}\n")).collect();
        let frames = read_frames(input.as_bytes(), cap, 64);
        let expected: Vec<Frame> = lines
            .iter()
            .map(|l| Frame::Line(Bytes::copy_from_slice(l.as_bytes())))
            .collect();
        prop_assert_eq!(frames, expected);
    }

    #[test]
    fn stdin_framing_of_any_bytes_is_bounded(
        input in prop::collection::vec(any::<u8>(), 0..300),
        cap in 1usize..16,
        max in 1usize..40,
    ) {
        for frame in read_frames(&input, cap, max) {
            if let Frame::Line(line) = frame {
                prop_assert!(line.len() <= max && !line.contains(&b'\n'));
                prop_assert!(std::str::from_utf8(&line).is_ok());
                if let Ok(parts) = jsonrpc::split_batch(&line) {
                    for part in parts {
                        let _ = jsonrpc::classify(part);
                    }
                }
            }
        }
    }

    #[test]
    fn any_json_goes_out_on_one_line_unchanged(value in json_value()) {
        let pretty = serde_json::to_string_pretty(&value).expect("serialize");
        let line = jsonrpc::one_line(Bytes::from(pretty));
        prop_assert!(!line.contains(&b'\n') && !line.contains(&b'\r'));
        let back: Value = serde_json::from_slice(&line).expect("still JSON");
        prop_assert_eq!(back, value);
    }

    #[test]
    fn templates_round_trip(t in template()) {
        let text = render_template(&t);
        prop_assert_eq!(Template::parse(&text), Ok(t));
    }

    #[test]
    fn reference_and_template_parsers_never_panic(text in "\\PC{0,40}") {
        if let Ok(r) = SecretRef::parse(&text) {
            prop_assert_eq!(SecretRef::parse(&r.to_string()), Ok(r));
        }
        if let Ok(t) = Template::parse(&text) {
            prop_assert_eq!(Template::parse(&render_template(&t)), Ok(t));
        }
    }

    #[test]
    fn challenge_reader_never_panics(text in "(Bearer|bearer|Basic)?[ a-z_=\",é]{0,60}") {
        if let Some(detail) = challenge_detail(&text) {
            prop_assert!(!detail.contains('"'));
        }
    }

    #[test]
    fn config_parser_never_panics(
        text in "(\\[profiles\\.[a-z]{1,4}\\]\n)?([a-z_]{1,16} = (\"[ -~é]{0,20}\"|[0-9.]{1,4}|true)\n){0,4}",
    ) {
        let _ = profile::parse("default", &text, std::path::Path::new("config.toml"));
    }
}
