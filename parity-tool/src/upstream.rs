//! The pinned upstream release (`go-tests-index/upstream.toml`) and how a checkout is
//! identified.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;

pub const PINNED_REPO: &str = "https://github.com/nats-io/nats-server";
pub const PINNED_TAG: &str = "v2.14.5";
pub const PINNED_COMMIT: &str = "d3bc0453384d00d37991b084263e59af828fa90d";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    pub repo: String,
    pub tag: String,
    pub commit: String,
}

impl Upstream {
    pub fn pinned() -> Self {
        Self {
            repo: PINNED_REPO.into(),
            tag: PINNED_TAG.into(),
            commit: PINNED_COMMIT.into(),
        }
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| {
            format!(
                "{}: expected a TOML table with string keys repo, tag and commit",
                path.display()
            )
        })
    }

    pub fn to_toml(&self) -> String {
        format!(
            "# The nats-server release whose Go tests go-tests-index/tests.tsv lists.\n\
             # Written by `parity scan`; do not edit by hand.\n\
             repo = \"{}\"\ntag = \"{}\"\ncommit = \"{}\"\n",
            self.repo, self.tag, self.commit
        )
    }
}

/// Reads the `VERSION` constant of `server/const.go`.
pub fn version_of_checkout(go_src: &Path) -> Result<String> {
    let const_go = go_src.join("server").join("const.go");
    let text = std::fs::read_to_string(&const_go).with_context(|| {
        format!(
            "expected a nats-server checkout with server/const.go at {}",
            const_go.display()
        )
    })?;
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("const ").unwrap_or(line).trim_start();
        if let Some(rest) = line.strip_prefix("VERSION") {
            let rest = rest.trim_start();
            if let Some(value) = rest.strip_prefix('=') {
                let value = value.trim();
                if let Some(v) = value.strip_prefix('"').and_then(|v| v.split('"').next()) {
                    return Ok(v.to_string());
                }
            }
        }
    }
    bail!(
        "{}: expected a line `VERSION = \"X.Y.Z\"`, found none",
        const_go.display()
    )
}

/// Identifies the checkout at `go_src` and checks it is the `expected` release.
///
/// The tag comes from `git describe` when `go_src` is a git work tree, and otherwise from
/// `server/const.go`. The commit comes from git, or, for an extracted archive without `.git`,
/// from the expected release (the tag was already checked to match).
pub fn identify(go_src: &Path, expected: &Upstream) -> Result<Upstream> {
    let version = version_of_checkout(go_src)?;
    let const_tag = format!("v{version}");
    let git = go_src.join(".git").exists();
    let (tag, commit) = if git {
        let commit = git_output(go_src, &["rev-parse", "HEAD"])?;
        let tag = git_output(go_src, &["describe", "--tags", "--exact-match", "HEAD"])
            .unwrap_or_else(|_| const_tag.clone());
        (tag, commit)
    } else {
        (const_tag.clone(), expected.commit.clone())
    };
    if tag != expected.tag || const_tag != expected.tag {
        bail!(
            "wrong nats-server release: expected tag {} (pinned in go-tests-index/upstream.toml), \
             but the checkout at {} is tag {} (server/const.go VERSION = \"{}\")",
            expected.tag,
            go_src.display(),
            tag,
            version
        );
    }
    if commit != expected.commit {
        bail!(
            "wrong nats-server commit: expected {} for tag {}, but the checkout at {} is at {}",
            expected.commit,
            expected.tag,
            go_src.display(),
            commit
        );
    }
    Ok(Upstream {
        repo: expected.repo.clone(),
        tag,
        commit,
    })
}

fn git_output(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .with_context(|| format!("cannot run git in {}", dir.display()))?;
    if !out.status.success() {
        bail!(
            "git {} in {} failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn checkout(version: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("server")).unwrap();
        std::fs::write(
            dir.path().join("server/const.go"),
            format!(
                "package server\n\nconst (\n\t// VERSION is it\n\tVERSION = \"{version}\"\n)\n"
            ),
        )
        .unwrap();
        dir
    }

    #[test]
    fn archive_of_the_pinned_tag_is_identified() {
        let dir = checkout("2.14.5");
        let up = identify(dir.path(), &Upstream::pinned()).unwrap();
        assert_eq!(up, Upstream::pinned());
    }

    #[test]
    fn wrong_tag_names_both_tags() {
        let dir = checkout("2.12.1");
        let err = identify(dir.path(), &Upstream::pinned())
            .unwrap_err()
            .to_string();
        assert!(err.contains("v2.14.5"), "{err}");
        assert!(err.contains("v2.12.1"), "{err}");
    }

    #[test]
    fn toml_round_trips() {
        let up = Upstream::pinned();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("upstream.toml");
        std::fs::write(&p, up.to_toml()).unwrap();
        assert_eq!(Upstream::read(&p).unwrap(), up);
    }
}
