//! The machine and tools the numbers come from, for the report's header.

use std::process::Command;

use serde_json::{json, Map, Value};

/// What the header says about where the bench ran.
pub struct Machine {
    /// CPUs this process may run on.
    pub nproc: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu: String,
    /// `Linux 6.1.0-...`.
    pub kernel: String,
    /// `rustc 1.xx.y (...)`, the compiler that builds the suites.
    pub rustc: String,
}

impl Machine {
    /// Reads it from `/proc` and `rustc -V`.
    pub fn describe() -> Self {
        let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .filter_map(|line| line.split_once(':'))
                    .find(|(key, _)| key.trim() == "model name")
                    .map(|(_, value)| value.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let read = |path| std::fs::read_to_string(path).map(|s| s.trim().to_owned());
        let kernel = match (
            read("/proc/sys/kernel/ostype"),
            read("/proc/sys/kernel/osrelease"),
        ) {
            (Ok(os), Ok(release)) => format!("{os} {release}"),
            _ => "unknown kernel".into(),
        };
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let rustc = Command::new(rustc)
            .arg("-V")
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .unwrap_or_else(|| "rustc (version unknown)".into());
        Self {
            nproc,
            cpu,
            kernel,
            rustc,
        }
    }
}

impl Machine {
    /// The JSON keys that say where the numbers come from.
    pub fn json(&self) -> Map<String, Value> {
        let Value::Object(map) = json!({
            "nproc": self.nproc,
            "cpu": self.cpu,
            "kernel": self.kernel,
            "rustc": self.rustc,
        }) else {
            unreachable!("json! of an object literal is an object")
        };
        map
    }
}

/// The 1-minute load average (`/proc/loadavg`): anything else running skews the numbers.
pub fn load_average() -> Option<f64> {
    let loadavg = std::fs::read_to_string("/proc/loadavg").ok()?;
    loadavg.split_whitespace().next()?.parse().ok()
}
