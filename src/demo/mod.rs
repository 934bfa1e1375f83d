//! A small MCP server for `check --demo`: loopback only, one random bearer token per run,
//! nothing written to disk, both transports (Streamable HTTP and legacy HTTP+SSE).

pub mod server;
pub mod tools;

pub use server::DemoServer;

/// `n` random bytes from the OS, as lowercase hex.
pub fn random_hex(n: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
