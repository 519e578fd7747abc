//! The layout fix of old store directories (Go's `checkStoreDir`): servers before Go
//! 2.2.3 kept the account directories right in `store_dir` instead of in
//! `store_dir/jetstream`. When the `jetstream` directory is empty or missing and its
//! parent holds directories named after known accounts, those move into it. Go skips the
//! fix whenever the parent has a single entry (meaning the `jetstream` directory); here a
//! single account directory moves too.

use std::path::Path;

/// Moves the account directories found next to `js_dir` (`<store_dir>/jetstream`) into
/// it; `is_account` says which names are accounts. Returns what moved, as (from, to).
pub fn relocate_accounts(
    js_dir: &Path,
    is_account: impl Fn(&str) -> bool,
) -> std::io::Result<Vec<(String, String)>> {
    let has_entries = std::fs::read_dir(js_dir).is_ok_and(|mut d| d.next().is_some());
    let Some(parent) = js_dir.parent() else {
        return Ok(Vec::new());
    };
    let dir_name = js_dir.file_name().unwrap_or_default();
    let names: Vec<std::ffi::OsString> = match std::fs::read_dir(parent) {
        Ok(d) => d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect(),
        Err(_) => Vec::new(),
    };
    // Nothing to fix when the store is in use, or the parent has only it.
    if has_entries || (names.len() == 1 && names[0] == dir_name) {
        return Ok(Vec::new());
    }
    let mut moved = Vec::new();
    for name in names {
        if name == dir_name {
            continue;
        }
        let Some(account) = name.to_str() else {
            continue;
        };
        if account.is_empty() || !is_account(account) {
            continue;
        }
        std::fs::create_dir_all(js_dir)?;
        let (from, to) = (parent.join(&name), js_dir.join(&name));
        std::fs::rename(&from, &to)?;
        moved.push((from.display().to_string(), to.display().to_string()));
    }
    Ok(moved)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn account_directories_move_under_jetstream() {
        let sd = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(sd.path().join("$G/streams/TEST")).unwrap();
        std::fs::create_dir_all(sd.path().join("other")).unwrap();
        let js_dir = sd.path().join("jetstream");
        let moved = relocate_accounts(&js_dir, |a| a == "$G").unwrap();
        assert_eq!(moved.len(), 1);
        assert!(js_dir.join("$G/streams/TEST").is_dir());
        assert!(!sd.path().join("$G").exists());
        assert!(sd.path().join("other").is_dir());
    }

    #[test]
    fn a_lone_account_directory_moves_too() {
        let sd = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(sd.path().join("$G/streams")).unwrap();
        let js_dir = sd.path().join("jetstream");
        assert_eq!(relocate_accounts(&js_dir, |a| a == "$G").unwrap().len(), 1);
        assert!(js_dir.join("$G/streams").is_dir());
    }

    #[test]
    fn a_store_in_use_is_left_alone() {
        let sd = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(sd.path().join("jetstream/$G")).unwrap();
        std::fs::create_dir_all(sd.path().join("A")).unwrap();
        let moved = relocate_accounts(&sd.path().join("jetstream"), |_| true).unwrap();
        assert!(moved.is_empty());
        assert!(sd.path().join("A").is_dir());
    }
}
