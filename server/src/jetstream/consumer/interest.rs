//! Interest in a push consumer's deliver subject: subscribers in the consumer's own
//! account, and subscribers of accounts that import the deliver subject as a stream
//! (Go sees those through the shadow subscriptions it keeps in the exporting account;
//! natsd registers an interest notification in the importing account's sublist on the
//! subject the import maps the deliver subject to).

use crate::account::Account;
use crate::monitor::gotime::now_nanos;
use crate::sublist::{InterestListener, Listener};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

/// The consumer's `active` flag kept over every place interest may come from.
pub(super) struct InterestState {
    pub active: Arc<AtomicBool>,
    /// When the last listener went (ns): an inactive threshold counts from there.
    pub lost_at: Arc<AtomicI64>,
    pub wake: Arc<tokio::sync::Notify>,
    /// How many of the registrations currently see interest.
    with_interest: Mutex<usize>,
}

impl InterestState {
    pub fn new(
        active: Arc<AtomicBool>,
        lost_at: Arc<AtomicI64>,
        wake: Arc<tokio::sync::Notify>,
    ) -> Arc<InterestState> {
        Arc::new(InterestState {
            active,
            lost_at,
            wake,
            with_interest: Mutex::new(0),
        })
    }

    /// Sets `active` from the registrations' counts; wakes the consumer on a change.
    fn settle(&self, n: usize) {
        let has_interest = n > 0;
        let was = self.active.swap(has_interest, Ordering::AcqRel);
        if was != has_interest {
            if !has_interest {
                self.lost_at.store(now_nanos(), Ordering::Release);
            }
            // Deliver now, or time an inactive threshold from now.
            self.wake.notify_one();
        }
    }
}

/// The listener of one registration. It must not block for long (it runs under the
/// sublist's lock); the count's lock is only held to add one.
struct InterestWatch {
    has_interest: AtomicBool,
    state: Arc<InterestState>,
}

impl InterestListener for InterestWatch {
    fn notify(&self, has_interest: bool) {
        if self.has_interest.swap(has_interest, Ordering::AcqRel) == has_interest {
            return;
        }
        let mut n = self.state.with_interest.lock();
        if has_interest {
            *n += 1;
        } else {
            *n = n.saturating_sub(1);
        }
        self.state.settle(*n);
    }
}

/// One interest notification registered in an account's sublist.
pub(super) struct Registration {
    account: Arc<Account>,
    subject: String,
    group: String,
    listener: Listener,
}

/// Registers for interest in `deliver` (members of `group` when not empty) in
/// `account` and in the accounts importing it as a stream, then sets `active` from
/// what they see.
pub(super) fn register(
    account: &Arc<Account>,
    deliver: &str,
    group: &str,
    state: &Arc<InterestState>,
) -> Vec<Registration> {
    let mut places = vec![(account.clone(), deliver.to_string())];
    // Subjects an import maps to with wildcards are not registered: a notification
    // follows one literal subject.
    places.extend(
        account
            .stream_targets(deliver)
            .into_iter()
            .map(|t| (t.account, t.subject)),
    );
    let mut regs = Vec::new();
    for (acc, subject) in places {
        let listener: Listener = Arc::new(InterestWatch {
            has_interest: AtomicBool::new(false),
            state: state.clone(),
        });
        let registered = if group.is_empty() {
            acc.sublist
                .register_notification(&subject, listener.clone())
        } else {
            acc.sublist
                .register_queue_notification(&subject, group, listener.clone())
        };
        if registered.is_ok() {
            regs.push(Registration {
                account: acc,
                subject,
                group: group.to_string(),
                listener,
            });
        }
    }
    let n = *state.with_interest.lock();
    state.settle(n);
    regs
}

/// Removes the registrations.
pub(super) fn clear(regs: Vec<Registration>) {
    for r in regs {
        if r.group.is_empty() {
            r.account
                .sublist
                .clear_notification(&r.subject, &r.listener);
        } else {
            r.account
                .sublist
                .clear_queue_notification(&r.subject, &r.group, &r.listener);
        }
    }
}
