//! The file store's per-subject index (Go's `psim`): for each subject, how many live
//! messages it has and its first and last sequence, in a subject tree so that a wildcard
//! filter visits only the subjects it can match. Each entry also keeps the subject's
//! shared name, which every slot of that subject points to.

use std::fmt;
use std::sync::Arc;

use super::core::SubjectInfo;
use crate::stree::SubjectTree;

#[derive(Clone)]
struct Entry {
    info: SubjectInfo,
    name: Arc<str>,
}

/// Live-message counts and bounds per subject.
#[derive(Default)]
pub struct SubjectIndex {
    tree: SubjectTree<Entry>,
    /// Where the counts of a subject the tree cannot hold go (see [`SubjectIndex::entry`]).
    unindexable: SubjectInfo,
}

impl fmt::Debug for SubjectIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectIndex")
            .field("subjects", &self.tree.len())
            .finish()
    }
}

impl SubjectIndex {
    /// Number of subjects with live messages.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    pub fn clear(&mut self) {
        self.tree.clear();
    }

    pub fn get(&self, subject: &str) -> Option<SubjectInfo> {
        self.tree.find(subject.as_bytes()).map(|e| e.info)
    }

    pub fn contains(&self, subject: &str) -> bool {
        self.tree.find(subject.as_bytes()).is_some()
    }

    /// The shared name of an indexed subject (slots point to it rather than to copies).
    pub fn name(&self, subject: &str) -> Option<Arc<str>> {
        self.tree.find(subject.as_bytes()).map(|e| e.name.clone())
    }

    /// The counts of `subject`, created empty when it has none yet.
    pub fn entry(&mut self, subject: Arc<str>) -> &mut SubjectInfo {
        let key = subject.as_bytes();
        if self.tree.find(key).is_none() {
            self.tree.insert(
                key,
                Entry {
                    info: SubjectInfo::default(),
                    name: subject.clone(),
                },
            );
        }
        match self.tree.find_mut(key) {
            Some(e) => &mut e.info,
            // Only a subject with the byte 127 cannot be stored (Go's tree has the same
            // limit): its counts go nowhere.
            None => {
                self.unindexable = SubjectInfo::default();
                &mut self.unindexable
            }
        }
    }

    /// Sets the counts of `subject`.
    pub fn set(&mut self, subject: Arc<str>, info: SubjectInfo) {
        *self.entry(subject) = info;
    }

    pub fn remove(&mut self, subject: &str) {
        self.tree.delete(subject.as_bytes());
    }

    /// Drops the subjects for which `keep` says no.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &SubjectInfo) -> bool) {
        let mut gone = Vec::new();
        self.tree.iter_fast(|_, e| {
            if !keep(&e.name, &e.info) {
                gone.push(e.name.clone());
            }
            true
        });
        for name in gone {
            self.remove(&name);
        }
    }

    /// Every subject and its counts (in no particular order).
    pub fn for_each(&self, mut f: impl FnMut(&Arc<str>, &SubjectInfo)) {
        self.tree.iter_fast(|_, e| {
            f(&e.name, &e.info);
            true
        });
    }

    /// The subjects `filter` matches (`""` and `">"` match all; a literal filter finds
    /// one entry; wildcards walk only the branches they can match).
    pub fn for_each_match(&self, filter: &str, mut f: impl FnMut(&Arc<str>, &SubjectInfo)) {
        if filter.is_empty() || filter == ">" {
            return self.for_each(f);
        }
        self.tree
            .for_each_match(filter.as_bytes(), |_, e| f(&e.name, &e.info));
    }
}
