//! Delivery across accounts from a client's publish: the rules are in
//! `crate::account::routing`; the reader hands the message to each account's
//! subscribers as it does in its own account.

use super::Reader;
use crate::account::routing::{self, ImportSink};
use crate::account::Account;
use std::sync::Arc;

/// The reader delivering the message it is processing, in any account.
struct ReaderSink<'a> {
    reader: &'a mut Reader,
    header_len: Option<usize>,
    payload: &'a [u8],
}

impl ImportSink for ReaderSink<'_> {
    fn deliver_in_account(
        &mut self,
        acc: &Arc<Account>,
        route: &str,
        reply: Option<&[u8]>,
    ) -> bool {
        let r = acc.sublist.match_subject(route);
        self.reader
            .deliver_result(&r, route.as_bytes(), reply, self.header_len, self.payload)
    }

    fn body_len(&self) -> usize {
        self.payload.len() - self.header_len.unwrap_or(0)
    }
}

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
        let Ok(subject) = std::str::from_utf8(subject) else {
            return false;
        };
        let mut sink = ReaderSink {
            reader: self,
            header_len,
            payload,
        };
        routing::route_imports(&mut sink, acc, subject, reply)
    }
}
