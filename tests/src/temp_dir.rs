//! A scratch directory for what a fixture test writes (pids, reports, counters).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system's temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "isolated-test-e2e-{}-{label}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&path)
            .unwrap_or_else(|error| panic!("creating {}: {error}", path.display()));
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The pid a fixture test wrote to `NAME.pid`.
    #[track_caller]
    pub fn read_pid(&self, name: &str) -> i32 {
        let text = self.read(&format!("{name}.pid"));
        text.trim().parse().unwrap_or_else(|error| {
            panic!("{name}.pid: {text:?} is not a pid: {error}");
        })
    }

    /// The contents of `file` in this directory, which a fixture test must have written.
    #[track_caller]
    pub fn read(&self, file: &str) -> String {
        let path = self.0.join(file);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
