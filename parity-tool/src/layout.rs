//! Where everything lives, relative to the workspace root.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Paths of the committed index files, the ported tests, the reports and the DB.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Finds the workspace root: the nearest ancestor of `start` whose `Cargo.toml` has a
    /// `[workspace]` table.
    pub fn discover(start: &Path) -> Result<Self> {
        let start = start
            .canonicalize()
            .with_context(|| format!("cannot resolve directory {}", start.display()))?;
        for dir in start.ancestors() {
            let manifest = dir.join("Cargo.toml");
            if let Ok(text) = std::fs::read_to_string(&manifest) {
                if text.lines().any(|l| l.trim() == "[workspace]") {
                    return Ok(Self::new(dir));
                }
            }
        }
        bail!(
            "expected a Cargo workspace (a Cargo.toml with [workspace]) in {} or one of its parents; \
             pass --root DIR",
            start.display()
        )
    }

    pub fn index_dir(&self) -> PathBuf {
        self.root.join("go-tests-index")
    }
    pub fn tests_tsv(&self) -> PathBuf {
        self.index_dir().join("tests.tsv")
    }
    pub fn upstream_toml(&self) -> PathBuf {
        self.index_dir().join("upstream.toml")
    }
    pub fn tracks_tsv(&self) -> PathBuf {
        self.index_dir().join("tracks.tsv")
    }
    pub fn not_applicable_tsv(&self) -> PathBuf {
        self.index_dir().join("not_applicable.tsv")
    }
    /// Root of the module tree of the ported tests (`main.rs` lives here).
    pub fn ported_dir(&self) -> PathBuf {
        self.root.join("ported").join("tests").join("ported")
    }
    pub fn reports_dir(&self) -> PathBuf {
        self.root.join("reports")
    }
    /// The SQLite DB; `PARITY_DB` overrides the default `<root>/parity.db`.
    pub fn db_path(&self) -> PathBuf {
        match std::env::var_os("PARITY_DB") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => self.root.join("parity.db"),
        }
    }

    /// `path` relative to the root, with `/` separators, for messages.
    pub fn display(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.to_string_lossy().replace('\\', "/")
    }
}
