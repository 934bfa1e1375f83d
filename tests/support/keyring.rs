//! A private OS keychain for one test: its own dbus-daemon and a gnome-keyring-daemon
//! unlocked with an empty password on stdin (`--unlock --components=secrets`), with its own
//! HOME and XDG_RUNTIME_DIR, so tests
//! never touch the developer's keychain. Missing tools fail the test (CI installs them in
//! .ci/run); nothing is skipped.

use super::bridge::scratch_dir;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PrivateKeyring {
    bus: Child,
    daemon: Child,
    /// `DBUS_SESSION_BUS_ADDRESS` of the private bus.
    pub address: String,
    /// The XDG_RUNTIME_DIR (bridges share it, so they share the sign-in lock too).
    pub run_dir: PathBuf,
    home: PathBuf,
}

impl PrivateKeyring {
    pub fn start() -> PrivateKeyring {
        let scratch = scratch_dir();
        let (home, run_dir) = (scratch.join("home"), scratch.join("run"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&run_dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &run_dir)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon not found: apt-get install dbus gnome-keyring libsecret-tools");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &run_dir)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon not found: apt-get install gnome-keyring");
        daemon.stdin.take().unwrap().write_all(b"pw").unwrap();
        let keyring = PrivateKeyring {
            bus,
            daemon,
            address,
            run_dir,
            home,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !keyring.has_secrets() {
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon did not start on the private bus"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        keyring
    }

    fn has_secrets(&self) -> bool {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .expect("dbus-send not found: apt-get install dbus");
        String::from_utf8_lossy(&out.stdout).contains("boolean true")
    }

    /// The environment a process needs to use this keychain.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS", self.address.clone()),
            ("XDG_RUNTIME_DIR", self.run_dir.display().to_string()),
        ]
    }

    /// What `secret-tool lookup service mcp-keybridge username ACCOUNT` prints.
    pub fn lookup(&self, account: &str) -> Option<String> {
        let out = Command::new("secret-tool")
            .args(["lookup", "service", "mcp-keybridge", "username", account])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", &self.home)
            .output()
            .expect("secret-tool not found: apt-get install libsecret-tools");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        for child in [&mut self.daemon, &mut self.bus] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
