//! Memory of a candidate's process tree, read from /proc (Linux only): the tree is the spawned
//! process and every descendant (node, python and their workers).
//!
//! Peak = the larger of the highest sampled sum of `VmRSS` and the sum of each live process's
//! `VmHWM` (its own high-water mark, which catches spikes between samples).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Every pid in the tree rooted at `root` (root first).
pub fn tree(root: u32) -> Vec<u32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let pid = out[i];
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                let path = task.path().join("children");
                if let Ok(children) = std::fs::read_to_string(path) {
                    out.extend(
                        children
                            .split_whitespace()
                            .filter_map(|c| c.parse::<u32>().ok()),
                    );
                }
            }
        }
        i += 1;
    }
    out
}

/// A `kB` field of /proc/<pid>/status, in bytes.
fn status_field(pid: u32, field: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Sum of current RSS over the tree, in bytes.
pub fn tree_rss(root: u32) -> u64 {
    tree(root)
        .into_iter()
        .map(|p| status_field(p, "VmRSS:"))
        .sum()
}

/// Sum of each process's high-water RSS over the tree, in bytes.
pub fn tree_hwm(root: u32) -> u64 {
    tree(root)
        .into_iter()
        .map(|p| status_field(p, "VmHWM:"))
        .sum()
}

/// Samples a tree's RSS every few milliseconds on its own thread until dropped.
pub struct Sampler {
    root: u32,
    max: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Sampler {
    /// Starts sampling the tree under `root`.
    pub fn start(root: u32) -> Self {
        let max = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (max.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                m.fetch_max(tree_rss(root), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Sampler { root, max, stop }
    }

    /// The tree's peak so far, in bytes (see the module doc).
    pub fn peak(&self) -> u64 {
        self.max.load(Ordering::Relaxed).max(tree_hwm(self.root))
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// CPU model, cores, RAM and OS, for the report header.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let ram_kb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let os = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|s| s.trim_matches('"').to_string())
        .unwrap_or_else(|| std::env::consts::OS.into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    Machine {
        cpu,
        cores,
        ram_gib: ram_kb as f64 / 1024.0 / 1024.0,
        os: format!("{os}, Linux {}", kernel.trim()),
    }
}

/// Where the figures were taken.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub ram_gib: f64,
    pub os: String,
}
