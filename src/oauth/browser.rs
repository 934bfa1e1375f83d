//! Opening the authorization URL in the user's browser without a shell: `$BROWSER` as a
//! program path given the URL as its one argument, else the platform's opener run directly.
//! Only http(s) URLs are opened, and the URL is always printed on stderr as well, for
//! machines where no browser opens (stdout belongs to MCP).

use std::process::{Command, Stdio};
use url::Url;

/// Prints `url` on stderr and tries to open it; false when no opener could be started
/// (the printed URL is then the way in).
pub fn open(url: &Url) -> bool {
    eprintln!("mcp-keybridge: to sign in, open this URL in a browser:\n\n    {url}\n");
    if !matches!(url.scheme(), "http" | "https") {
        tracing::warn!("not opening a {} URL", url.scheme());
        return false;
    }
    let mut cmd = match std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        Some(program) => {
            let mut c = Command::new(program);
            c.arg(url.as_str());
            c
        }
        None => platform_opener(url.as_str()),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match cmd.spawn() {
        Ok(mut child) => {
            // Reap it in the background so no zombie stays behind.
            std::thread::spawn(move || child.wait());
            true
        }
        Err(e) => {
            tracing::warn!("could not start a browser ({e}); open the URL above by hand");
            false
        }
    }
}

/// Whether a browser can be opened for the person at this terminal: `$BROWSER` is set, or
/// there is a desktop (macOS, Windows, or `DISPLAY` / `WAYLAND_DISPLAY` elsewhere) and the
/// session is not a remote SSH one without a forwarded display.
pub fn can_open() -> bool {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if set("BROWSER") {
        return true;
    }
    let display = set("DISPLAY") || set("WAYLAND_DISPLAY");
    if set("SSH_CONNECTION") || set("SSH_TTY") {
        return display;
    }
    cfg!(any(target_os = "macos", windows)) || display
}

#[cfg(target_os = "macos")]
fn platform_opener(url: &str) -> Command {
    let mut c = Command::new("open");
    c.arg(url);
    c
}

#[cfg(windows)]
fn platform_opener(url: &str) -> Command {
    // rundll32 takes the URL as one argument; `cmd /c start` would parse `&` in it.
    let mut c = Command::new("rundll32");
    c.arg("url.dll,FileProtocolHandler").arg(url);
    c
}

#[cfg(not(any(target_os = "macos", windows)))]
fn platform_opener(url: &str) -> Command {
    let mut c = Command::new("xdg-open");
    c.arg(url);
    c
}
