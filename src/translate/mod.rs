//! Translation between protocol eras, where a client and the server speak different ones:
//! what a message becomes, with no I/O (the transports that send it are in `transport/`).
//! `stamp` and `rounds`: a stateful client (2024-11-05 … 2025-11-25) and a server that speaks
//! only 2026-07-28, whose session `transport/upgraded.rs` plays; the verdict is reached in
//! `transport/mod.rs` from the server's answer to the client's own `initialize` (no extra
//! request for a stateful or dual-era server) and holds for the process. `downgrade`: a
//! 2026-07-28 client and a server that speaks only the stateful revisions, reached through
//! `transport/modern_client.rs`; the verdict comes from the answer to the client's first
//! request.

pub mod downgrade;
pub mod rounds;
pub mod stamp;
