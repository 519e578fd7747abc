//! Subject mappings of an account (`mappings { src: dest }`): a client's publish to a
//! subject matching `src` is delivered on a destination subject instead, one chosen by
//! weight when there are several (nats-server's `AddWeightedMappings` and
//! `selectMappedSubject`).

use crate::subject::{is_subset_match, is_valid_subject, subject_has_wildcard};
use crate::subject_transform::{transform_tokenize, validate_mapping, SubjectTransform};
use parking_lot::RwLock;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

/// One destination of a mapping as configured: a subject (with `$1`-style placeholders or
/// transform functions), its weight in percent, and optionally the cluster it is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MapDest {
    pub subject: String,
    pub weight: u8,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
}

impl MapDest {
    pub fn new(subject: &str, weight: u8) -> MapDest {
        MapDest {
            subject: subject.to_string(),
            weight,
            cluster: String::new(),
        }
    }
}

/// A compiled destination; `weight` is cumulative (the upper bound of its share of 0..100).
#[derive(Debug, Clone)]
struct Destination {
    transform: SubjectTransform,
    weight: u8,
}

#[derive(Debug, Clone)]
struct Mapping {
    src: String,
    wildcard: bool,
    dests: Vec<Destination>,
    /// Destinations for a named cluster, used instead of `dests` there.
    cluster_dests: BTreeMap<String, Vec<Destination>>,
}

/// Why a mapping cannot be added (Go's texts).
pub type MappingError = String;

/// The mappings of one account, in the order they were added.
#[derive(Debug, Default)]
pub struct Mappings {
    list: RwLock<Vec<Mapping>>,
    /// Whether there is any: read on each publish without taking the lock.
    any: AtomicBool,
}

fn compile(src: &str, dest: &str) -> Result<SubjectTransform, MappingError> {
    validate_mapping(src, dest).map_err(|e| e.to_string())?;
    SubjectTransform::new(src, dest)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("invalid mapping destination {dest:?}"))
}

impl Mappings {
    /// Whether the account has any mapping (the cheap check before [`Mappings::select`]).
    #[inline]
    pub fn any(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// Maps `src` to `dest` for every message.
    pub fn add(&self, src: &str, dest: &str) -> Result<(), MappingError> {
        self.add_weighted(src, &[MapDest::new(dest, 100)])
    }

    /// Maps `src` to `dests` by weight. When the weights (per cluster) total less than
    /// 100 and `src` is not one of the destinations, the rest keeps the original subject;
    /// listing `src` with a weight below 100 drops the rest instead. Replaces an earlier
    /// mapping of the same `src`.
    pub fn add_weighted(&self, src: &str, dests: &[MapDest]) -> Result<(), MappingError> {
        if !is_valid_subject(src) {
            return Err("invalid subject".to_string());
        }
        let wildcard = subject_has_wildcard(src);
        let mut seen = HashSet::new();
        let mut totals: BTreeMap<&str, u32> = BTreeMap::new();
        let mut plain = Vec::new();
        let mut cluster_dests: BTreeMap<String, Vec<Destination>> = BTreeMap::new();
        for d in dests {
            if !seen.insert(d.subject.as_str()) {
                return Err(format!("duplicate entry for {:?}", d.subject));
            }
            if d.weight > 100 {
                return Err("individual weights need to be <= 100".to_string());
            }
            let total = totals.entry(d.cluster.as_str()).or_default();
            *total += u32::from(d.weight);
            if *total > 100 {
                return Err("total weight needs to be <= 100".to_string());
            }
            let dest = Destination {
                transform: compile(src, &d.subject)?,
                weight: d.weight,
            };
            if d.cluster.is_empty() {
                plain.push(dest);
            } else {
                cluster_dests
                    .entry(d.cluster.clone())
                    .or_default()
                    .push(dest);
            }
        }
        let has_src = seen.contains(src);
        let finish = |mut dests: Vec<Destination>| -> Result<Vec<Destination>, MappingError> {
            let total: u32 = dests.iter().map(|d| u32::from(d.weight)).sum();
            if total != 100 && !has_src {
                let dest = if wildcard {
                    transform_tokenize(src)
                } else {
                    src.to_string()
                };
                let rest = if dests.is_empty() { 100 } else { 100 - total };
                dests.push(Destination {
                    transform: compile(src, &dest)?,
                    weight: u8::try_from(rest).unwrap_or(100),
                });
            }
            dests.sort_by_key(|d| d.weight);
            let mut upper = 0u8;
            for d in &mut dests {
                d.weight = d.weight.saturating_add(upper);
                upper = d.weight;
            }
            Ok(dests)
        };
        let mapping = Mapping {
            src: src.to_string(),
            wildcard,
            dests: finish(plain)?,
            cluster_dests: cluster_dests
                .into_iter()
                .map(|(c, d)| Ok((c, finish(d)?)))
                .collect::<Result<_, MappingError>>()?,
        };
        let mut list = self.list.write();
        match list.iter_mut().find(|m| m.src == src) {
            Some(m) => *m = mapping,
            None => list.push(mapping),
        }
        self.any.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Removes the mapping of `src`; whether there was one.
    pub fn remove(&self, src: &str) -> bool {
        let mut list = self.list.write();
        let before = list.len();
        list.retain(|m| m.src != src);
        self.any.store(!list.is_empty(), Ordering::Relaxed);
        list.len() != before
    }

    /// Removes every mapping (a reload sets them again).
    pub fn clear(&self) {
        self.list.write().clear();
        self.any.store(false, Ordering::Relaxed);
    }

    /// The subject a publish to `subject` goes to: `None` when no mapping applies. The
    /// first mapping that matches decides; `pick` is a number in 0..100 chosen at random
    /// for weighted destinations; `cluster` selects cluster-scoped destinations. A mapping
    /// whose weights leave a share unassigned yields `Some("")` there (the message is
    /// dropped).
    pub fn select(&self, subject: &str, cluster: &str, pick: u8) -> Option<String> {
        if !self.any() {
            return None;
        }
        let list = self.list.read();
        let tokens: Vec<&str> = subject.split('.').collect();
        let m = list.iter().find(|m| {
            if m.wildcard {
                is_subset_match(&tokens, &m.src)
            } else {
                m.src == subject
            }
        })?;
        let dests = m.cluster_dests.get(cluster).unwrap_or(&m.dests);
        let chosen = match dests.as_slice() {
            [only] if only.weight == 100 => Some(only),
            _ => dests.iter().find(|d| pick < d.weight),
        };
        Some(chosen.map_or_else(String::new, |d| {
            d.transform.transform_tokenized_subject(&tokens)
        }))
    }

    /// The mappings as `/accountz` lists them: source to destinations with their
    /// cumulative weights (cluster-scoped ones named).
    pub fn describe(&self) -> BTreeMap<String, Vec<MapDest>> {
        let list = self.list.read();
        list.iter()
            .map(|m| {
                let mut dests: Vec<MapDest> = m
                    .dests
                    .iter()
                    .map(|d| MapDest::new(d.transform.dest(), d.weight))
                    .collect();
                for (cluster, cd) in &m.cluster_dests {
                    dests.extend(cd.iter().map(|d| MapDest {
                        subject: d.transform.dest().to_string(),
                        weight: d.weight,
                        cluster: cluster.clone(),
                    }));
                }
                (m.src.clone(), dests)
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;

    #[test]
    fn simple_and_wildcard_mappings() {
        let m = Mappings::default();
        assert!(!m.any());
        assert_eq!(m.select("foo", "", 0), None);
        m.add("foo", "bar").unwrap();
        m.add("bar.*.*", "RAB.$2.$1").unwrap();
        assert!(m.any());
        assert_eq!(m.select("foo", "", 99).as_deref(), Some("bar"));
        assert_eq!(m.select("bar.11.22", "", 0).as_deref(), Some("RAB.22.11"));
        assert_eq!(m.select("baz", "", 0), None);
        assert!(m.remove("foo"));
        assert!(!m.remove("foo"));
        assert_eq!(m.select("foo", "", 0), None);
        m.clear();
        assert!(!m.any());
    }

    #[test]
    fn weights_fill_up_with_the_original_subject() {
        let m = Mappings::default();
        m.add_weighted(
            "foo.*",
            &[MapDest::new("bar.v1.$1", 40), MapDest::new("baz.v2.$1", 20)],
        )
        .unwrap();
        // Sorted by weight and made cumulative: baz 0..20, bar 20..60, the rest foo.
        assert_eq!(m.select("foo.22", "", 0).as_deref(), Some("baz.v2.22"));
        assert_eq!(m.select("foo.22", "", 19).as_deref(), Some("baz.v2.22"));
        assert_eq!(m.select("foo.22", "", 20).as_deref(), Some("bar.v1.22"));
        assert_eq!(m.select("foo.22", "", 59).as_deref(), Some("bar.v1.22"));
        assert_eq!(m.select("foo.22", "", 60).as_deref(), Some("foo.22"));
        let described = m.describe();
        let weights: Vec<(String, u8)> = described["foo.*"]
            .iter()
            .map(|d| (d.subject.clone(), d.weight))
            .collect();
        assert_eq!(
            weights,
            [
                ("baz.v2.$1".to_string(), 20),
                ("bar.v1.$1".to_string(), 60),
                ("foo.$1".to_string(), 100)
            ]
        );
    }

    #[test]
    fn listing_the_source_below_100_drops_the_rest() {
        let m = Mappings::default();
        m.add_weighted("foo", &[MapDest::new("foo", 80)]).unwrap();
        assert_eq!(m.select("foo", "", 79).as_deref(), Some("foo"));
        assert_eq!(m.select("foo", "", 80).as_deref(), Some(""));
    }

    #[test]
    fn cluster_scoped_destinations() {
        let m = Mappings::default();
        let mut east = MapDest::new("east.foo", 100);
        east.cluster = "east".into();
        m.add_weighted("foo", &[MapDest::new("any.foo", 100), east])
            .unwrap();
        assert_eq!(m.select("foo", "east", 0).as_deref(), Some("east.foo"));
        assert_eq!(m.select("foo", "west", 0).as_deref(), Some("any.foo"));
        assert_eq!(m.select("foo", "", 0).as_deref(), Some("any.foo"));
    }

    #[test]
    fn bad_mappings_are_refused_with_go_texts() {
        let m = Mappings::default();
        let err = |dests: &[MapDest]| m.add_weighted("foo", dests).unwrap_err();
        assert_eq!(
            err(&[MapDest::new("a", 50), MapDest::new("a", 10)]),
            "duplicate entry for \"a\""
        );
        assert_eq!(
            err(&[MapDest::new("a", 101)]),
            "individual weights need to be <= 100"
        );
        assert_eq!(
            err(&[MapDest::new("a", 60), MapDest::new("b", 50)]),
            "total weight needs to be <= 100"
        );
        assert_eq!(m.add("foo.>.bar", "x").unwrap_err(), "invalid subject");
        assert!(!m.any());
    }
}
