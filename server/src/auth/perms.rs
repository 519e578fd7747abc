//! A connected client's permissions, compiled for checks on each publish, subscription and
//! delivery.

use super::{Permissions, ResponsePermission, SubjectPermission};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One allow or deny entry: a subject pattern, and for subscriptions an optional queue
/// group (`"foo.> workers"`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    subject: Vec<String>,
    queue: Option<String>,
}

/// A compiled allow or deny list.
#[derive(Debug, Clone, Default)]
struct List(Vec<Entry>);

/// Does the pattern `pat` (with wildcards) match `subject`, whose own wildcard characters
/// count as literal tokens (as a sublist match does)?
fn pattern_matches(pat: &[String], subject: &[&str]) -> bool {
    let mut i = 0;
    for (pi, p) in pat.iter().enumerate() {
        if p == ">" && pi == pat.len() - 1 {
            return subject.len() > i;
        }
        let Some(t) = subject.get(i) else {
            return false;
        };
        if p != "*" && p != t {
            return false;
        }
        i += 1;
    }
    i == subject.len()
}

/// Go's `queueMatches`: the queue equals an entry's queue, or is covered by its wildcards.
fn queue_matches(queue: &str, entries: &[&Entry]) -> bool {
    if entries.is_empty() {
        return true;
    }
    entries.iter().any(|e| {
        let q = e.queue.as_deref().unwrap_or_default();
        queue == q
            || (crate::subject::subject_has_wildcard(q)
                && crate::subject::subject_is_subset_match(queue, q))
    })
}

/// Splits a subscribe permission entry into its subject and optional queue group
/// (`"foo.> workers"`). Surrounding and repeated whitespace is ignored; an empty entry,
/// more than two fields, or an invalid subject or queue is an error (Go's
/// `splitSubjectQueue`).
pub fn split_subject_queue(sq: &str) -> Result<(&str, Option<&str>), String> {
    let invalid = || format!("invalid subject-queue {sq:?}");
    let mut fields = sq.split_whitespace();
    let subject = fields.next().ok_or_else(invalid)?;
    let queue = fields.next();
    if fields.next().is_some() {
        return Err(invalid());
    }
    let valid = crate::subject::is_valid_subject(subject)
        && queue.is_none_or(crate::subject::is_valid_subject);
    if !valid {
        return Err(invalid());
    }
    Ok((subject, queue))
}

/// Which list an entry belongs to: it decides how a queue qualifier is read.
#[derive(Debug, Clone, Copy)]
enum ListKind {
    /// Publish allow: a plain subject; anything else is skipped.
    PublishAllow,
    /// Publish deny: a queue qualifier means nothing for a publish, so the entry denies
    /// its subject (failing closed rather than never matching).
    PublishDeny,
    /// Subscribe allow or deny: a subject and optional queue group.
    Subscribe,
}

impl List {
    /// Compiles `subjects`; entries that do not parse are skipped, as Go does.
    fn new(subjects: &[String], kind: ListKind) -> List {
        List(
            subjects
                .iter()
                .filter_map(|s| {
                    let (subject, queue) = match kind {
                        ListKind::PublishAllow => {
                            crate::subject::is_valid_subject(s).then_some((s.as_str(), None))?
                        }
                        ListKind::PublishDeny => (split_subject_queue(s).ok()?.0, None),
                        ListKind::Subscribe => split_subject_queue(s).ok()?,
                    };
                    Some(Entry {
                        subject: subject.split('.').map(str::to_string).collect(),
                        queue: queue.map(str::to_string),
                    })
                })
                .collect(),
        )
    }

    /// The entries as subjects again, a queue group after a space (`"foo.* workers"`).
    fn subjects(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|e| {
                let subject = e.subject.join(".");
                match &e.queue {
                    Some(q) => format!("{subject} {q}"),
                    None => subject,
                }
            })
            .collect()
    }

    /// The plain entries and the queue entries matching `subject`.
    fn matching(&self, subject: &str) -> (bool, Vec<&Entry>) {
        let toks: Vec<&str> = subject.split('.').collect();
        let mut plain = false;
        let mut queues = Vec::new();
        for e in &self.0 {
            if pattern_matches(&e.subject, &toks) {
                match e.queue {
                    None => plain = true,
                    Some(_) => queues.push(e),
                }
            }
        }
        (plain, queues)
    }
}

/// Allow and deny lists of one direction, compiled.
#[derive(Debug, Clone, Default)]
struct Direction {
    allow: Option<List>,
    deny: Option<List>,
}

impl Direction {
    fn new(p: Option<&SubjectPermission>, allow: ListKind, deny: ListKind) -> Direction {
        let Some(p) = p else {
            return Direction::default();
        };
        Direction {
            allow: p.allow.as_deref().map(|l| List::new(l, allow)),
            deny: p.deny.as_deref().map(|l| List::new(l, deny)),
        }
    }

    fn is_empty(&self) -> bool {
        self.allow.is_none() && self.deny.is_none()
    }

    fn public(&self) -> SubjectPermission {
        SubjectPermission {
            allow: self.allow.as_ref().map(List::subjects),
            deny: self.deny.as_ref().map(List::subjects),
        }
    }
}

/// Reply subjects this client received and may answer, with how many answers were sent
/// and when each was received.
#[derive(Debug, Default)]
struct Replies(HashMap<String, (i64, Instant)>);

/// Most reply permissions tracked at once; beyond it expired ones are dropped.
const MAX_TRACKED_REPLIES: usize = 10_000;

/// What one client may do (Go's `permissions` of a client).
#[derive(Debug)]
pub struct ClientPerms {
    publish: Direction,
    subscribe: Direction,
    response: Option<ResponsePermission>,
    replies: Mutex<Replies>,
}

impl ClientPerms {
    pub fn new(p: &Permissions) -> ClientPerms {
        ClientPerms {
            publish: Direction::new(
                p.publish.as_ref(),
                ListKind::PublishAllow,
                ListKind::PublishDeny,
            ),
            subscribe: Direction::new(
                p.subscribe.as_ref(),
                ListKind::Subscribe,
                ListKind::Subscribe,
            ),
            response: p.response.clone(),
            replies: Mutex::new(Replies::default()),
        }
    }

    /// What the client may do, as lists again (Go's `publicPermissions`, which user info
    /// requests answer with): the entries that compiled, queue groups kept.
    pub fn public(&self) -> Permissions {
        Permissions {
            publish: Some(self.publish.public()),
            subscribe: Some(self.subscribe.public()),
            response: self.response.clone(),
        }
    }

    /// Whether publishing to `subject` is allowed at `now` (a reply permission granted by a
    /// received request is used up by this call).
    pub fn pub_allowed(&self, subject: &str, now: Instant) -> bool {
        if self.publish.is_empty() {
            return true;
        }
        let mut allowed = match &self.publish.allow {
            Some(l) => l.matching(subject).0,
            None => true,
        };
        if allowed {
            if let Some(d) = &self.publish.deny {
                allowed = !d.matching(subject).0;
            }
        }
        if !allowed && self.response.is_some() {
            allowed = self.response_allowed(subject, now);
        }
        allowed
    }

    fn response_allowed(&self, subject: &str, now: Instant) -> bool {
        let Some(rp) = &self.response else {
            return false;
        };
        let mut replies = self.replies.lock();
        let Some((n, t)) = replies.0.get_mut(subject) else {
            return false;
        };
        *n += 1;
        let over = rp.max_msgs > 0 && *n > rp.max_msgs;
        let expired = rp.expires.is_some_and(|e| now.duration_since(*t) > e);
        if over || expired {
            replies.0.remove(subject);
            return false;
        }
        true
    }

    /// Whether this client tracks the replies of what it receives (`allow_responses`).
    pub fn tracks_replies(&self) -> bool {
        self.response.is_some()
    }

    /// Remembers that this client received a message with reply subject `reply` at `now`.
    pub fn track_reply(&self, reply: &str, now: Instant) {
        let Some(rp) = &self.response else { return };
        let mut replies = self.replies.lock();
        if replies.0.len() >= MAX_TRACKED_REPLIES {
            let ttl = rp.expires.unwrap_or(Duration::MAX);
            replies.0.retain(|_, (_, t)| now.duration_since(*t) <= ttl);
        }
        replies.0.insert(reply.to_string(), (0, now));
    }

    /// Whether subscribing to `subject` (in `queue`) is allowed (Go's `canSubscribe`).
    pub fn can_subscribe(&self, subject: &str, queue: Option<&str>) -> bool {
        let queue = queue.filter(|q| !q.is_empty());
        let mut allowed = true;
        if let Some(l) = &self.subscribe.allow {
            let (plain, queues) = l.matching(subject);
            allowed = plain;
            if let Some(q) = queue {
                if !queues.is_empty() {
                    allowed = queue_matches(q, &queues);
                }
            }
        }
        if allowed {
            if let Some(l) = &self.subscribe.deny {
                let (plain, queues) = l.matching(subject);
                allowed = !plain;
                if allowed {
                    if let Some(q) = queue {
                        if !queues.is_empty() {
                            allowed = !queue_matches(q, &queues);
                        }
                    }
                }
            }
        }
        allowed
    }

    /// Whether a message on `subject` must not be delivered to a subscription of this
    /// client (in `queue`): a wildcard subscription may cover subjects the deny list
    /// forbids.
    pub fn delivery_denied(&self, subject: &str, queue: Option<&str>) -> bool {
        let Some(l) = &self.subscribe.deny else {
            return false;
        };
        let (plain, queues) = l.matching(subject);
        if plain {
            return true;
        }
        match queue.filter(|q| !q.is_empty()) {
            Some(q) if !queues.is_empty() => queue_matches(q, &queues),
            _ => false,
        }
    }

    /// Whether a subscription deny list exists (deliveries need checking).
    pub fn has_sub_deny(&self) -> bool {
        self.subscribe.deny.is_some()
    }
}
