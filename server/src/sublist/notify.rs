//! Interest notifications: tell a listener when the first subscription on an exact literal
//! subject (optionally with a queue) appears, and when the last one goes.

use std::collections::HashMap;
use std::sync::Arc;

/// Receives interest changes. `notify` is called with the sublist's lock held and must not
/// block: like Go's non-blocking channel send, a listener that is full drops the value.
pub trait InterestListener: Send + Sync {
    fn notify(&self, has_interest: bool);
}

/// A registered listener; registrations are told apart by pointer identity.
pub type Listener = Arc<dyn InterestListener>;

impl InterestListener for std::sync::mpsc::SyncSender<bool> {
    fn notify(&self, has_interest: bool) {
        let _ = self.try_send(has_interest);
    }
}

impl InterestListener for tokio::sync::mpsc::Sender<bool> {
    fn notify(&self, has_interest: bool) {
        let _ = self.try_send(has_interest);
    }
}

pub(super) fn same_listener(a: &Listener, b: &Listener) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

/// Map key for a subject and an optional queue (they cannot contain a space).
pub(super) fn notify_key(subject: &str, queue: Option<&str>) -> String {
    match queue {
        None | Some("") => subject.to_string(),
        Some(q) => format!("{subject} {q}"),
    }
}

/// Listeners waiting for interest to appear (`insert`) or to vanish (`remove`).
#[derive(Default)]
pub(super) struct NotifyMaps {
    pub(super) insert: HashMap<String, Vec<Listener>>,
    pub(super) remove: HashMap<String, Vec<Listener>>,
}

impl NotifyMaps {
    /// Adds a listener; false if this listener is already registered under the key.
    pub(super) fn add(map: &mut HashMap<String, Vec<Listener>>, key: String, l: Listener) -> bool {
        let list = map.entry(key).or_default();
        if list.iter().any(|x| same_listener(x, &l)) {
            return false;
        }
        list.push(l);
        true
    }

    /// Removes a listener from `map`; true if it was there.
    pub(super) fn take(map: &mut HashMap<String, Vec<Listener>>, key: &str, l: &Listener) -> bool {
        let Some(list) = map.get_mut(key) else {
            return false;
        };
        let Some(pos) = list.iter().position(|x| same_listener(x, l)) else {
            return false;
        };
        list.swap_remove(pos);
        if list.is_empty() {
            map.remove(key);
        }
        true
    }

    /// Interest appeared on `key`: notify and move the listeners to the remove map.
    pub(super) fn interest_appeared(&mut self, key: &str) {
        if let Some(list) = self.insert.remove(key) {
            for l in &list {
                l.notify(true);
            }
            self.remove.entry(key.to_string()).or_default().extend(list);
        }
    }

    /// Interest vanished on `key`: notify and move the listeners to the insert map.
    pub(super) fn interest_vanished(&mut self, key: &str) {
        if let Some(list) = self.remove.remove(key) {
            for l in &list {
                l.notify(false);
            }
            self.insert.entry(key.to_string()).or_default().extend(list);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.insert.is_empty() && self.remove.is_empty()
    }
}
