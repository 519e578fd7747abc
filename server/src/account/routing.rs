//! Routing a message across accounts (see [`super::imports`]): after a publish reached
//! its own account's subscribers, it goes on to the accounts importing its subject as a
//! stream, to the account a service import of the publishing account names, or back to
//! a requester when it answers a `_R_.` reply.
//!
//! The same rules apply whoever published: a client's reader and the server's internal
//! publish (JetStream deliveries, acks and advisories) differ only in how a message is
//! handed to the subscribers of one account, which is what [`ImportSink`] does.

use super::Account;
use rand::Rng;
use std::sync::Arc;
use std::time::Instant;

/// How many accounts a message may cross (bounds chains; the configuration refuses
/// cycles).
const MAX_IMPORT_HOPS: u8 = 8;

/// Hands the message being routed to the subscribers of one account.
pub trait ImportSink {
    /// Delivers to the subscribers of `acc` matching `route`, with `reply`; true if
    /// anyone took it. The message body is the sink's.
    fn deliver_in_account(&mut self, acc: &Arc<Account>, route: &str, reply: Option<&[u8]>)
        -> bool;

    /// The length of the message body after its headers (an empty body ends a
    /// streamed or chunked response).
    fn body_len(&self) -> usize;
}

/// Routes a message published in `acc` on `subject` through imports; true if anyone
/// took it.
pub fn route_imports(
    sink: &mut impl ImportSink,
    acc: &Arc<Account>,
    subject: &str,
    reply: Option<&[u8]>,
) -> bool {
    let mut used = Vec::new();
    route_in(sink, acc, subject, reply, 0, &mut used)
}

fn route_in(
    sink: &mut impl ImportSink,
    acc: &Arc<Account>,
    subject: &str,
    reply: Option<&[u8]>,
    hops: u8,
    used: &mut Vec<String>,
) -> bool {
    if hops >= MAX_IMPORT_HOPS {
        return false;
    }
    let mut delivered = route_streams(sink, acc, subject, reply, hops);
    let now = Instant::now();
    if let Some(t) = acc.response_target(subject, now) {
        let ok = deliver_in(sink, &t.account, &t.subject, reply, hops, used);
        // A requester that no longer listens, or an empty message ending a chunked or
        // streamed response, ends the mapping.
        if !ok || sink.body_len() == 0 {
            acc.remove_response(subject);
        }
        delivered |= ok;
    }
    let reply_str = reply.and_then(|r| std::str::from_utf8(r).ok());
    for t in acc.service_targets(subject, reply_str, now, used) {
        let to = map_in(&t.account, t.subject);
        let new_reply = t.reply.as_deref().map(str::as_bytes);
        used.push(t.key);
        let ok = deliver_in(sink, &t.account, &to, new_reply, hops, used);
        if !ok {
            if let Some(r) = &t.reply {
                t.account.remove_response(r);
            }
        }
        delivered |= ok;
    }
    delivered
}

/// Delivers in `acc` on `subject`, then routes on through `acc`'s own imports.
fn deliver_in(
    sink: &mut impl ImportSink,
    acc: &Arc<Account>,
    subject: &str,
    reply: Option<&[u8]>,
    hops: u8,
    used: &mut Vec<String>,
) -> bool {
    let mut ok = sink.deliver_in_account(acc, subject, reply);
    if acc.has_imports_or_exports() {
        ok |= route_in(sink, acc, subject, reply, hops + 1, used);
    }
    ok
}

/// Stream imports only: the accounts importing `subject` from `acc`, and on from those
/// (a stream may be re-exported).
fn route_streams(
    sink: &mut impl ImportSink,
    acc: &Arc<Account>,
    subject: &str,
    reply: Option<&[u8]>,
    hops: u8,
) -> bool {
    if hops >= MAX_IMPORT_HOPS {
        return false;
    }
    let mut delivered = false;
    for t in acc.stream_targets(subject) {
        delivered |= sink.deliver_in_account(&t.account, &t.subject, reply);
        delivered |= route_streams(sink, &t.account, &t.subject, reply, hops + 1);
    }
    delivered
}

/// The subject a request lands on in the exporting account, after its mappings.
fn map_in(acc: &Account, subject: String) -> String {
    if !acc.mappings.any() {
        return subject;
    }
    let pick = rand::thread_rng().gen_range(0..100u8);
    acc.mappings.select(&subject, "", pick).unwrap_or(subject)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Records where messages were delivered; subscribers are not needed.
    #[derive(Default)]
    struct Record {
        got: Vec<(String, String, Option<String>)>,
    }

    impl ImportSink for Record {
        fn deliver_in_account(
            &mut self,
            acc: &Arc<Account>,
            route: &str,
            reply: Option<&[u8]>,
        ) -> bool {
            self.got.push((
                acc.name.clone(),
                route.to_string(),
                reply.map(|r| String::from_utf8_lossy(r).into_owned()),
            ));
            true
        }

        fn body_len(&self) -> usize {
            1
        }
    }

    fn acc(name: &str) -> Arc<Account> {
        Arc::new(Account::new(name, "", true))
    }

    #[test]
    fn stream_and_service_imports_and_the_response() {
        let (exp, imp) = (acc("exp"), acc("imp"));
        exp.add_stream_export("events.>", None).unwrap();
        exp.add_service_export("svc", None).unwrap();
        imp.add_stream_import(&exp, "events.>", "in").unwrap();
        imp.add_service_import(Some(&exp), "req", "svc").unwrap();

        let mut r = Record::default();
        assert!(route_imports(&mut r, &exp, "events.a", None));
        assert_eq!(r.got, [("imp".into(), "in.events.a".into(), None)]);

        let mut r = Record::default();
        assert!(route_imports(&mut r, &imp, "req", Some(b"inbox")));
        let (name, subject, reply) = r.got.remove(0);
        assert_eq!((name.as_str(), subject.as_str()), ("exp", "svc"));
        let reply = reply.unwrap();
        assert!(reply.starts_with(super::super::imports::REPLY_PREFIX));

        let mut r = Record::default();
        assert!(route_imports(&mut r, &exp, &reply, None));
        assert_eq!(r.got, [("imp".into(), "inbox".into(), None)]);
    }
}
