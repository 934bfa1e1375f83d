//! The Server-Sent Events decoder: bytes a server (hostile or broken) can send.
//!
//! Input: byte 0 picks the size limit, bytes 1..4 where to cut the stream into chunks, the
//! rest is the stream. Invariants: no panic, events within the limit, and a stream cut into
//! chunks decodes to the same events as the whole stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_keybridge::parsers::{Decoder, Event};

fn decode<'a>(chunks: impl Iterator<Item = &'a [u8]>, limit: usize) -> Option<Vec<Event>> {
    let mut dec = Decoder::new(limit);
    let mut events = Vec::new();
    for chunk in chunks {
        events.extend(dec.push(chunk).ok()?);
    }
    Some(events)
}

fuzz_target!(|data: &[u8]| {
    let [limit, a, b, c, stream @ ..] = data else {
        return;
    };
    let limit = usize::from(*limit) * 8 + 1;
    let mut cuts: Vec<usize> = [a, b, c]
        .iter()
        .map(|&&x| usize::from(x) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    let pieces = [
        &stream[..cuts[0]],
        &stream[cuts[0]..cuts[1]],
        &stream[cuts[1]..cuts[2]],
        &stream[cuts[2]..],
    ];
    let whole = decode(std::iter::once(stream), limit);
    let split = decode(pieces.into_iter(), limit);
    let bytewise = decode(stream.chunks(1), limit);
    for events in [&whole, &split, &bytewise].into_iter().flatten() {
        for ev in events {
            assert!(ev.data.len() <= limit, "event over the limit");
        }
    }
    // Where the stream is accepted both whole and in pieces, the events are the same. (Only
    // the limit may tell them apart: a long line that ends within one chunk never sits in
    // the buffer.)
    if let (Some(whole), Some(bytewise)) = (&whole, &bytewise) {
        assert_eq!(whole, bytewise);
    }
    if let (Some(whole), Some(split)) = (&whole, &split) {
        assert_eq!(whole, split);
    }
});
