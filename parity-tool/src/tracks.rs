//! The nine tracks of the parity plan and `go-tests-index/tracks.tsv`, which assigns every
//! Go test file to exactly one of them.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A track: number, slug (used in tracks.tsv) and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Track {
    pub number: u8,
    pub slug: &'static str,
    pub title: &'static str,
}

pub const TRACKS: [Track; 9] = [
    Track {
        number: 1,
        slug: "storage",
        title: "Storage",
    },
    Track {
        number: 2,
        slug: "jetstream-api",
        title: "JetStream API",
    },
    Track {
        number: 3,
        slug: "jetstream-cluster",
        title: "JetStream cluster",
    },
    Track {
        number: 4,
        slug: "consumers",
        title: "Consumers",
    },
    Track {
        number: 5,
        slug: "auth-accounts",
        title: "Auth and accounts",
    },
    Track {
        number: 6,
        slug: "networking",
        title: "Networking",
    },
    Track {
        number: 7,
        slug: "config-monitoring",
        title: "Config, reload and monitoring",
    },
    Track {
        number: 8,
        slug: "client-protocol",
        title: "Client, protocol and misc",
    },
    Track {
        number: 9,
        slug: "transports",
        title: "Transports",
    },
];

pub fn by_slug(slug: &str) -> Option<&'static Track> {
    TRACKS.iter().find(|t| t.slug == slug)
}

pub const TRACKS_HEADER: &str = "file\ttrack";

/// Go test file path -> track slug.
pub type TrackTable = BTreeMap<String, &'static str>;

pub fn read_tracks_tsv(path: &Path) -> Result<TrackTable> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the track table {}", path.display()))?;
    parse_tracks_tsv(&text, &path.display().to_string())
}

pub fn parse_tracks_tsv(text: &str, origin: &str) -> Result<TrackTable> {
    let slugs: Vec<&str> = TRACKS.iter().map(|t| t.slug).collect();
    let mut table = TrackTable::new();
    let mut header_seen = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if !header_seen {
            if line != TRACKS_HEADER {
                bail!("{origin}:{n}: expected the header `file<TAB>track`, found `{line}`");
            }
            header_seen = true;
            continue;
        }
        let Some((file, slug)) = line.split_once('\t') else {
            bail!("{origin}:{n}: expected `<go test file><TAB><track>`, found `{line}`");
        };
        let track = by_slug(slug.trim()).with_context(|| {
            format!(
                "{origin}:{n}: expected a track among {}, found `{slug}`",
                slugs.join(", ")
            )
        })?;
        if let Some(prev) = table.insert(file.to_string(), track.slug) {
            bail!(
                "{origin}:{n}: {file} is assigned twice (to {prev} and {}); a file belongs to exactly one track",
                track.slug
            );
        }
    }
    Ok(table)
}

/// Checks that every Go test file has a track and that the table names no other file.
pub fn check_coverage<'a>(
    table: &TrackTable,
    files: impl IntoIterator<Item = &'a str>,
    origin: &str,
) -> Vec<String> {
    let files: BTreeSet<&str> = files.into_iter().collect();
    let mut problems = Vec::new();
    for f in &files {
        if !table.contains_key(*f) {
            problems.push(format!(
                "{origin}: expected a track for Go test file {f}, found none (add a line `{f}<TAB><track>`)"
            ));
        }
    }
    for f in table.keys() {
        if !files.contains(f.as_str()) {
            problems.push(format!(
                "{origin}: {f} has a track but has no Test, Benchmark or Fuzz function in the index (remove the line)"
            ));
        }
    }
    problems
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_duplicates_and_unknown_tracks() {
        let t = parse_tracks_tsv("# c\nfile\ttrack\na_test.go\tstorage\n", "t").unwrap();
        assert_eq!(t["a_test.go"], "storage");
        let dup = parse_tracks_tsv(
            "file\ttrack\na_test.go\tstorage\na_test.go\tconsumers\n",
            "t",
        );
        assert!(dup.unwrap_err().to_string().contains("t:3"));
        let bad = parse_tracks_tsv("file\ttrack\na_test.go\tnope\n", "t");
        assert!(bad.unwrap_err().to_string().contains("nope"));
    }

    #[test]
    fn coverage_reports_missing_and_extra_files() {
        let t = parse_tracks_tsv("file\ttrack\na_test.go\tstorage\n", "t").unwrap();
        let p = check_coverage(&t, ["b_test.go"], "t");
        assert_eq!(p.len(), 2);
        assert!(p[0].contains("b_test.go"));
    }
}
