//! Delivery across accounts (see `crate::account::imports`): after a publish reached its
//! own account's subscribers, it goes on to the accounts importing its subject as a
//! stream, to the account a service import of the publisher's account names, or back to
//! a requester when it answers a `_R_.` reply.

use super::Reader;
use crate::account::Account;
use rand::Rng;
use std::sync::Arc;
use std::time::Instant;

/// How many accounts a message may cross (bounds chains; the configuration refuses
/// cycles).
const MAX_IMPORT_HOPS: u8 = 8;

impl Reader {
    /// Routes a message published in `acc` through imports; true if anyone took it.
    pub(super) fn route_imports(
        &mut self,
        acc: &Arc<Account>,
        subject: &[u8],
        reply: Option<&[u8]>,
        header_len: Option<usize>,
        payload: &[u8],
    ) -> bool {
        let mut used = Vec::new();
        self.route_in(acc, subject, reply, header_len, payload, 0, &mut used)
    }

    #[allow(clippy::too_many_arguments)]
    fn route_in(
        &mut self,
        acc: &Arc<Account>,
        subject: &[u8],
        reply: Option<&[u8]>,
        header_len: Option<usize>,
        payload: &[u8],
        hops: u8,
        used: &mut Vec<String>,
    ) -> bool {
        if hops >= MAX_IMPORT_HOPS {
            return false;
        }
        let Ok(subj) = std::str::from_utf8(subject) else {
            return false;
        };
        let mut delivered = self.route_streams(acc, subj, reply, header_len, payload, hops);
        let now = Instant::now();
        if let Some(t) = acc.response_target(subj, now) {
            let ok = self.deliver_in(
                &t.account, &t.subject, reply, header_len, payload, hops, used,
            );
            let body_len = payload.len() - header_len.unwrap_or(0);
            // A requester that no longer listens, or an empty message ending a chunked
            // or streamed response, ends the mapping.
            if !ok || body_len == 0 {
                acc.remove_response(subj);
            }
            delivered |= ok;
        }
        let reply_str = reply.and_then(|r| std::str::from_utf8(r).ok());
        if let Some(t) = acc.service_target(subj, reply_str, now, used) {
            let to = map_in(&t.account, t.subject);
            let new_reply = t.reply.as_deref().map(str::as_bytes);
            used.push(t.key);
            let ok = self.deliver_in(&t.account, &to, new_reply, header_len, payload, hops, used);
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
    #[allow(clippy::too_many_arguments)]
    fn deliver_in(
        &mut self,
        acc: &Arc<Account>,
        subject: &str,
        reply: Option<&[u8]>,
        header_len: Option<usize>,
        payload: &[u8],
        hops: u8,
        used: &mut Vec<String>,
    ) -> bool {
        let r = acc.sublist.match_subject(subject);
        let mut ok = self.deliver_result(&r, subject.as_bytes(), reply, header_len, payload);
        if acc.has_imports_or_exports() {
            ok |= self.route_in(
                acc,
                subject.as_bytes(),
                reply,
                header_len,
                payload,
                hops + 1,
                used,
            );
        }
        ok
    }

    /// Stream imports only: the accounts importing `subject` from `acc`, and on from
    /// those (a stream may be re-exported).
    fn route_streams(
        &mut self,
        acc: &Arc<Account>,
        subject: &str,
        reply: Option<&[u8]>,
        header_len: Option<usize>,
        payload: &[u8],
        hops: u8,
    ) -> bool {
        if hops >= MAX_IMPORT_HOPS {
            return false;
        }
        let mut delivered = false;
        for t in acc.stream_targets(subject) {
            let r = t.account.sublist.match_subject(&t.subject);
            delivered |= self.deliver_result(&r, t.subject.as_bytes(), reply, header_len, payload);
            delivered |=
                self.route_streams(&t.account, &t.subject, reply, header_len, payload, hops + 1);
        }
        delivered
    }
}

/// The subject a request lands on in the exporting account, after its mappings.
fn map_in(acc: &Account, subject: String) -> String {
    if !acc.mappings.any() {
        return subject;
    }
    let pick = rand::thread_rng().gen_range(0..100u8);
    acc.mappings.select(&subject, "", pick).unwrap_or(subject)
}
