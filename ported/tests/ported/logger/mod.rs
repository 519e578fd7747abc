//! Ports of `logger/*_test.go` (nats-server's logger package).

mod log_test;
mod syslog_test;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A name part no other test in this process (or a recent process) uses.
fn unique() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A fresh directory under the system temp dir, removed on drop (Go's `t.TempDir()`).
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("ported-logger-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// Creates an empty file named `prefix` + random digits (Go's `os.CreateTemp`).
    pub(crate) fn create_file(&self, prefix: &str) -> PathBuf {
        let path = self.0.join(format!("{prefix}{}", unique()));
        std::fs::File::create(&path).expect("create temp file");
        path
    }

    /// File names in the directory, sorted (Go's `os.ReadDir` order).
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("read temp dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
