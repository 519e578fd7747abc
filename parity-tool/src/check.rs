//! `parity check`: the consistency rules CI enforces on the mapping.

use crate::annotations::{self, Annotation, AnnotationKind};
use crate::index::{self, TestRow};
use crate::layout::Layout;
use crate::not_applicable::{self, NaTable};
use crate::tracks::{self, TrackTable};
use crate::upstream::Upstream;
use anyhow::Result;
use std::collections::{BTreeMap, HashSet};

/// Everything the committed text says, read once.
pub struct Inputs {
    pub upstream: Upstream,
    pub tests: Vec<TestRow>,
    pub tracks: TrackTable,
    pub not_applicable: NaTable,
    pub scan: annotations::Scan,
}

impl Inputs {
    pub fn load(layout: &Layout) -> Result<Self> {
        Ok(Self {
            upstream: Upstream::read(&layout.upstream_toml())?,
            tests: index::read_tests_tsv(&layout.tests_tsv())?,
            tracks: tracks::read_tracks_tsv(&layout.tracks_tsv())?,
            not_applicable: not_applicable::read(&layout.not_applicable_tsv())?,
            scan: annotations::scan_dir(&layout.root, &layout.ported_dir())?,
        })
    }
}

#[derive(Debug, Default)]
pub struct CheckReport {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Where a port of the Go test file `go_path` is expected: `server/a_test.go` ->
/// `ported/tests/ported/server/a_test.rs`.
pub fn expected_rust_file(go_path: &str) -> String {
    let stem = go_path.strip_suffix(".go").unwrap_or(go_path);
    format!("ported/tests/ported/{stem}.rs")
}

/// Whether `file` is the module `want` (`.../a_test.rs`) or one of its submodules, when
/// a large port file is split into a directory (`.../a_test/mod.rs`, `.../a_test/x.rs`).
fn in_mirroring_module(file: &str, want: &str) -> bool {
    file == want
        || want
            .strip_suffix(".rs")
            .is_some_and(|dir| file.starts_with(dir) && file[dir.len()..].starts_with('/'))
}

/// How an error message names an annotation.
fn describe(kind: &AnnotationKind) -> &'static str {
    match kind {
        AnnotationKind::Port => "port",
        AnnotationKind::OptIn(_) => "port (opt-in)",
        AnnotationKind::Partial(_) => "partial port",
        AnnotationKind::Stub => "stub",
    }
}

pub fn check(inputs: &Inputs) -> CheckReport {
    let mut r = CheckReport::default();
    let tag = &inputs.upstream.tag;
    for m in &inputs.scan.malformed {
        r.errors.push(m.to_string());
    }
    let ids: HashSet<String> = inputs.tests.iter().map(TestRow::id).collect();
    let mut by_id: BTreeMap<&str, Vec<&Annotation>> = BTreeMap::new();
    for a in &inputs.scan.annotations {
        if !ids.contains(&a.go_test) {
            r.errors.push(format!(
                "{}: {}! names {}, expected a Go test of nats-server {tag} listed in go-tests-index/tests.tsv",
                a.location(),
                a.kind.macro_name(),
                a.go_test
            ));
        }
        by_id.entry(&a.go_test).or_default().push(a);
        let want = expected_rust_file(index::split_id(&a.go_test).map_or("", |(p, _)| p));
        if !in_mirroring_module(&a.file, &want) {
            r.warnings.push(format!(
                "{}: {} belongs in {want} (the module mirroring its Go file)",
                a.location(),
                a.go_test
            ));
        }
    }
    for (id, anns) in &by_id {
        if anns.len() > 1 {
            let locs: Vec<String> = anns
                .iter()
                .map(|a| format!("{} ({})", a.location(), a.kind.as_str()))
                .collect();
            r.errors.push(format!(
                "{}: {id} is claimed {} times, expected one port or one stub: {}",
                anns[0].location(),
                anns.len(),
                locs.join(", ")
            ));
        }
        if let Some(na) = inputs.not_applicable.get(*id) {
            for a in anns {
                r.errors.push(format!(
                    "{}: {id} has a {} but is also not_applicable ({}: {}) in go-tests-index/not_applicable.tsv; keep one",
                    a.location(),
                    describe(&a.kind),
                    na.category,
                    na.reason
                ));
            }
        }
    }
    for id in inputs.not_applicable.keys() {
        if !ids.contains(id) {
            r.errors.push(format!(
                "go-tests-index/not_applicable.tsv: {id} is not a Go test of nats-server {tag} listed in go-tests-index/tests.tsv"
            ));
        }
    }
    let mut seen_ids = HashSet::new();
    for t in &inputs.tests {
        if !seen_ids.insert(t.id()) {
            r.errors.push(format!(
                "go-tests-index/tests.tsv: {} is listed twice",
                t.id()
            ));
        }
    }
    let files: std::collections::BTreeSet<&str> =
        inputs.tests.iter().map(|t| t.path.as_str()).collect();
    r.errors.extend(tracks::check_coverage(
        &inputs.tracks,
        files,
        "go-tests-index/tracks.tsv",
    ));
    r
}

/// Loads the committed text and checks it.
pub fn run(layout: &Layout) -> Result<CheckReport> {
    Ok(check(&Inputs::load(layout)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goscan::Kind;
    use crate::not_applicable::NaRow;

    fn inputs(annotations: Vec<Annotation>, na: &[&str]) -> Inputs {
        let tests = ["TestA", "TestB"]
            .iter()
            .enumerate()
            .map(|(i, name)| TestRow {
                path: "server/a_test.go".into(),
                name: (*name).into(),
                kind: Kind::Test,
                line: 10 * (i + 1),
                build: String::new(),
                file_os: String::new(),
                hash: "0000000000000000".into(),
            })
            .collect();
        Inputs {
            upstream: Upstream::pinned(),
            tests,
            tracks: [("server/a_test.go".to_string(), "client-protocol")]
                .into_iter()
                .collect(),
            not_applicable: na
                .iter()
                .map(|id| {
                    (
                        (*id).to_string(),
                        NaRow {
                            category: "go-runtime".into(),
                            reason: "checks the GC".into(),
                        },
                    )
                })
                .collect(),
            scan: annotations::Scan {
                annotations,
                ..Default::default()
            },
        }
    }

    fn partial(name: &str, line: usize) -> Annotation {
        Annotation {
            go_test: format!("server/a_test.go::{name}"),
            kind: AnnotationKind::Partial("Go also runs it on a cluster".into()),
            rust_fn: "a".into(),
            file: "ported/tests/ported/server/a_test.rs".into(),
            line,
        }
    }

    #[test]
    fn a_partial_port_is_accepted() {
        let r = check(&inputs(vec![partial("TestA", 3)], &[]));
        assert!(r.is_ok(), "{:?}", r.errors);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn a_partial_port_that_is_also_not_applicable_is_rejected() {
        let r = check(&inputs(
            vec![partial("TestA", 3)],
            &["server/a_test.go::TestA"],
        ));
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        assert!(
            r.errors[0].starts_with(
                "ported/tests/ported/server/a_test.rs:3: server/a_test.go::TestA has a partial port but is also not_applicable"
            ),
            "{}",
            r.errors[0]
        );
    }

    #[test]
    fn a_partial_port_of_an_unknown_test_names_the_port_macro() {
        let r = check(&inputs(vec![partial("TestZ", 7)], &[]));
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        assert!(
            r.errors[0].starts_with(
                "ported/tests/ported/server/a_test.rs:7: port! names server/a_test.go::TestZ"
            ),
            "{}",
            r.errors[0]
        );
    }

    #[test]
    fn a_port_file_may_be_split_into_a_directory() {
        let want = "ported/tests/ported/server/filestore_test.rs";
        assert!(in_mirroring_module(want, want));
        assert!(in_mirroring_module(
            "ported/tests/ported/server/filestore_test/mod.rs",
            want
        ));
        assert!(in_mirroring_module(
            "ported/tests/ported/server/filestore_test/snapshot.rs",
            want
        ));
        assert!(!in_mirroring_module(
            "ported/tests/ported/server/filestore_test_more.rs",
            want
        ));
        assert!(!in_mirroring_module(
            "ported/tests/ported/server/memstore_test.rs",
            want
        ));
    }
}
