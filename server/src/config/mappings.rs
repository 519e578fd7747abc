//! `mappings` (or `maps`), at the top level for the global account or inside an account:
//! source subject to a destination subject, or to weighted destinations
//! (`[{ dest: "a.$1", weight: 40% }, ...]`), with nats-server's error texts. Each mapping
//! is checked by compiling it, as Go adds it to an account while parsing.

use super::file::{ConfigIssue, IssueKind};
use crate::config::cli::go_quote;
use crate::config::conf::{Kind, Value};
use crate::mapping::{MapDest, Mappings};

/// The mappings of one account as configured: source and destinations, in file order.
pub type MappingsConfig = Vec<(String, Vec<MapDest>)>;

fn error(v: &Value, reason: impl Into<String>) -> ConfigIssue {
    ConfigIssue {
        pos: Some(v.pos.clone()),
        kind: IssueKind::Error(reason.into()),
    }
}

/// One weighted destination (Go's `parseAccountMapDest`).
fn parse_dest(v: &Value) -> Result<MapDest, ConfigIssue> {
    let Some(m) = v.as_map() else {
        return Err(error(v, "Expected an entry for the mapping destination"));
    };
    let mut dest = MapDest::default();
    let mut weighted = false;
    for (k, dv) in m.iter() {
        match k.to_lowercase().as_str() {
            "dest" | "destination" => dest.subject = dv.as_str().unwrap_or_default().to_string(),
            "weight" => {
                let weight = match &dv.kind {
                    Kind::String(s) => {
                        let s = s.strip_suffix('%').unwrap_or(s);
                        s.parse::<i64>().map_err(|_| {
                            error(
                                dv,
                                format!("Invalid weight {} for mapping destination", go_quote(s)),
                            )
                        })?
                    }
                    Kind::Integer(n) => *n,
                    _ => {
                        return Err(error(
                            dv,
                            format!("Unknown entry type for weight of {}\n", go_value(dv)),
                        ))
                    }
                };
                if !(0..=100).contains(&weight) {
                    return Err(error(
                        dv,
                        format!("Invalid weight {weight} for mapping destination"),
                    ));
                }
                dest.weight = u8::try_from(weight).unwrap_or(100);
                weighted = true;
            }
            "cluster" => dest.cluster = dv.as_str().unwrap_or_default().to_string(),
            _ => {
                return Err(error(
                    dv,
                    format!("Unknown field {} for mapping destination", go_quote(k)),
                ))
            }
        }
    }
    if !weighted {
        return Err(error(
            v,
            format!(
                "Missing weight for mapping destination {}",
                go_quote(&dest.subject)
            ),
        ));
    }
    Ok(dest)
}

/// A value as Go's `%v` prints the simple kinds.
fn go_value(v: &Value) -> String {
    match &v.kind {
        Kind::Bool(b) => b.to_string(),
        Kind::Float(f) => f.to_string(),
        Kind::String(s) => s.clone(),
        _ => v.go_type().to_string(),
    }
}

/// Parses a `mappings` map; problems go to `errors` and the mapping is left out, as Go
/// reports each and goes on.
pub fn parse_mappings(v: &Value, errors: &mut Vec<ConfigIssue>) -> MappingsConfig {
    let mut out = MappingsConfig::new();
    let Some(m) = v.as_map() else {
        errors.push(error(
            v,
            format!("Expected mappings to be a map/struct, got {}", v.go_type()),
        ));
        return out;
    };
    // Mappings are compiled here to report their errors at their place.
    let check = Mappings::default();
    for (subject, mv) in m.iter() {
        if !crate::subject::is_valid_subject(subject) {
            errors.push(error(
                mv,
                format!("Subject {} is not a valid subject", go_quote(subject)),
            ));
            continue;
        }
        let (dests, context) = match &mv.kind {
            Kind::String(d) => (vec![MapDest::new(d, 100)], format!(" to {}", go_quote(d))),
            Kind::Array(items) => {
                let mut dests = Vec::new();
                for item in items {
                    match parse_dest(item) {
                        Ok(d) => dests.push(d),
                        Err(e) => errors.push(e),
                    }
                }
                (dests, String::new())
            }
            Kind::Map(_) => match parse_dest(mv) {
                Ok(d) => (vec![d], String::new()),
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            },
            _ => {
                errors.push(error(
                    mv,
                    format!("Unknown type {} for mapping destination", mv.go_type()),
                ));
                continue;
            }
        };
        if let Err(e) = check.add_weighted(subject, &dests) {
            errors.push(error(
                mv,
                format!(
                    "Error adding mapping for {}{context} : {e}",
                    go_quote(subject)
                ),
            ));
            continue;
        }
        out.push((subject.to_string(), dests));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;

    fn parse(text: &str) -> (MappingsConfig, Vec<String>) {
        let root = crate::config::conf::parse(text).unwrap();
        let v = root.iter().find(|(k, _)| *k == "mappings").unwrap().1;
        let mut errors = Vec::new();
        let m = parse_mappings(v, &mut errors);
        (m, errors.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn plain_and_weighted_mappings() {
        let (m, errors) = parse(
            "mappings = {\n foo: bar\n foo.*: [ { dest: bar.v1.$1, weight: 40% }, { destination: baz.v2.$1, weight: 20 } ]\n bar.*.*: RAB.$2.$1\n}",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(m.len(), 3);
        assert_eq!(m[0], ("foo".to_string(), vec![MapDest::new("bar", 100)]));
        assert_eq!(
            m[1].1,
            vec![MapDest::new("bar.v1.$1", 40), MapDest::new("baz.v2.$1", 20)]
        );
    }

    #[test]
    fn errors_have_go_texts() {
        let (m, errors) = parse(
            "mappings = {\n \"foo..bar\": x\n a: [ { dest: b } ]\n c: [ { dest: d, weight: \"x%\" } ]\n e: [ { dest: f, weight: 120 } ]\n g: [ { dest: h, weight: 10, color: red } ]\n i: 5\n j: [ { dest: k, weight: 70 }, { dest: l, weight: 40 } ]\n}",
        );
        // As in Go, a list whose entries all failed still maps its subject (to itself);
        // the errors fail the configuration anyway.
        assert!(m.iter().all(|(_, d)| d.is_empty()), "{m:?}");
        let expected = [
            "Subject \"foo..bar\" is not a valid subject",
            "Missing weight for mapping destination \"b\"",
            "Invalid weight \"x\" for mapping destination",
            "Invalid weight 120 for mapping destination",
            "Unknown field \"color\" for mapping destination",
            "Unknown type int64 for mapping destination",
            "Error adding mapping for \"j\" : total weight needs to be <= 100",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:?}");
        for (got, want) in errors.iter().zip(expected) {
            assert!(got.contains(want), "{got:?} should contain {want:?}");
        }
    }
}
