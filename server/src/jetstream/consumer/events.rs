//! What a consumer tells besides its deliveries: flow control requests and the answers
//! to them, pause and priority group advisories, ack metrics.

use super::{flow, waiting};
use super::{AckKind, AckPolicy, Consumer};
use crate::events::internal::InMsg;
use crate::monitor::gotime::{now_nanos, GoTime};
use crate::server::ServerShared;

impl Consumer {
    /// A fresh reply subject for a flow control request, in the form acks use.
    pub(super) fn flow_control_reply(&self) -> String {
        let token = flow::reply_token(rand::random::<u64>());
        if self.ack_v2 {
            format!(
                "$JS.FC.{}.{}.{}.{}.{token}",
                self.domain_token(),
                crate::events::hash8(&self.account.name),
                self.stream_name,
                self.name
            )
        } else {
            format!("$JS.FC.{}.{}.{token}", self.stream_name, self.name)
        }
    }

    /// Sets the flow control limit of pending bytes (Go's `setMaxPendingBytes`, which
    /// Go's tests call to make flow control kick in early).
    pub fn set_max_pending_bytes(&self, limit: i64) {
        self.cursor.lock().flow.set_limit(limit);
    }

    /// An answer to a flow control request (Go's `processFlowControl`): the latest
    /// request's bytes are released and deliveries go on. A consumer acked by flow
    /// control takes the answer's `Nats-Last-Stream` / `Nats-Last-Consumer` as an ack
    /// of everything up to there.
    pub(super) fn process_flow_control(&self, _server: &ServerShared, msg: &InMsg) {
        let acked = {
            let mut c = self.cursor.lock();
            if !c.flow.answered(&msg.subject) {
                return;
            }
            let header_num = |key: &str| -> i64 {
                msg.header
                    .as_deref()
                    .and_then(|h| crate::client::header::slice_header(key, h))
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0)
            };
            let last_stream = header_num(waiting::LAST_STREAM_HDR);
            if c.config.ack_policy == AckPolicy::FlowControl && last_stream > 0 {
                let last_consumer = header_num(waiting::LAST_CONSUMER_HDR).max(0) as u64;
                let sseq = last_stream as u64;
                let acked = c.ack(&AckKind::Ack, sseq, last_consumer, now_nanos());
                if !acked.is_empty() {
                    let (fd, fs) = c.ack_floor;
                    let _ = self.store.update_acks(last_consumer.max(fd), sseq.max(fs));
                }
                acked
            } else {
                Vec::new()
            }
        };
        if !acked.is_empty() {
            if let Some(stream) = self.stream.upgrade() {
                stream.acked_by_consumer(&self.name, &acked);
            }
        }
        self.notify();
    }

    /// A flow control request on the deliver subject, answered on `reply`.
    pub(super) fn publish_flow_control(&self, server: &ServerShared, deliver: &str, reply: &str) {
        crate::events::internal::publish(
            server,
            &self.client,
            &self.account,
            deliver,
            Some(reply),
            Some(flow::FLOW_CONTROL_REQUEST.as_bytes()),
            b"",
        );
    }

    /// Go's pause advisory on `$JS.EVENT.ADVISORY.CONSUMER.PAUSE.<stream>.<consumer>`:
    /// whether the consumer is paused now and until when; only when someone listens.
    pub fn send_pause_advisory(&self) {
        let subject = format!(
            "$JS.EVENT.ADVISORY.CONSUMER.PAUSE.{}.{}",
            self.stream_name, self.name
        );
        if !self.account.sublist.has_interest(&subject) {
            return;
        }
        let until = self
            .cursor
            .lock()
            .config
            .pause_until
            .unwrap_or(GoTime::ZERO);
        let paused = !until.is_zero() && until.unix_nanos() > now_nanos();
        let mut advisory = serde_json::json!({
            "type": "io.nats.jetstream.advisory.v1.consumer_pause",
            "id": crate::events::messages::next_event_id(),
            "timestamp": GoTime::now(),
            "stream": self.stream_name,
            "consumer": self.name,
            "paused": paused,
            "pause_until": until,
        });
        if !self.domain.is_empty() {
            advisory["domain"] = serde_json::json!(self.domain);
        }
        let body = crate::monitor::http::to_go_json_compact(&advisory);
        let Some(server) = self.server.upgrade() else {
            return;
        };
        crate::events::internal::publish(
            &server,
            &self.client,
            &self.account,
            &subject,
            None,
            None,
            &body,
        );
    }

    /// Go's pinned advisory on `$JS.EVENT.ADVISORY.CONSUMER.PINNED.<stream>.<consumer>`.
    pub(super) fn send_pinned_advisory(&self, group: &str, pin_id: &str) {
        self.send_group_advisory(
            "PINNED",
            serde_json::json!({
                "type": "io.nats.jetstream.advisory.v1.consumer_group_pinned",
                "group": group,
                "pinned_id": pin_id,
            }),
        );
    }

    /// Go's unpinned advisory on `$JS.EVENT.ADVISORY.CONSUMER.UNPINNED.<stream>.<consumer>`
    /// (`reason` is "admin" or "timeout").
    pub(super) fn send_unpinned_advisory(&self, group: &str, reason: &str) {
        self.send_group_advisory(
            "UNPINNED",
            serde_json::json!({
                "type": "io.nats.jetstream.advisory.v1.consumer_group_unpinned",
                "group": group,
                "reason": reason,
            }),
        );
    }

    /// A priority group advisory (Go's common event fields and `fields`), only when
    /// someone listens.
    pub(super) fn send_group_advisory(&self, what: &str, fields: serde_json::Value) {
        self.send_advisory(what, fields, AdvisoryShape::Group);
    }

    /// Go's advisory that a message reached `max_deliver` (`MAX_DELIVERIES`), with the
    /// number of deliveries it had.
    pub(super) fn send_max_deliveries_advisory(&self, sseq: u64, deliveries: u64) {
        self.send_delivery_advisory(
            "MAX_DELIVERIES",
            serde_json::json!({
                "type": "io.nats.jetstream.advisory.v1.max_deliver",
                "stream_seq": sseq,
                "deliveries": deliveries,
            }),
        );
    }

    /// Go's advisory of a nak (`MSG_NAKED`).
    pub(super) fn send_nak_advisory(&self, sseq: u64, dseq: u64, deliveries: u64) {
        self.send_delivery_advisory(
            "MSG_NAKED",
            serde_json::json!({
                "type": "io.nats.jetstream.advisory.v1.nak",
                "consumer_seq": dseq,
                "stream_seq": sseq,
                "deliveries": deliveries,
            }),
        );
    }

    /// Go's advisory of a `+TERM` (`MSG_TERMINATED`), with its reason when it gave one.
    pub(super) fn send_terminated_advisory(
        &self,
        sseq: u64,
        dseq: u64,
        deliveries: u64,
        reason: &str,
    ) {
        let mut fields = serde_json::json!({
            "type": "io.nats.jetstream.advisory.v1.terminated",
            "consumer_seq": dseq,
            "stream_seq": sseq,
            "deliveries": deliveries,
        });
        if !reason.is_empty() {
            fields["reason"] = serde_json::json!(reason);
        }
        self.send_delivery_advisory("MSG_TERMINATED", fields);
    }

    /// A delivery advisory on `$JS.EVENT.ADVISORY.CONSUMER.<what>.<stream>.<consumer>`
    /// (Go's typed event, the stream and consumer, then `fields`), only when someone
    /// listens.
    fn send_delivery_advisory(&self, what: &str, fields: serde_json::Value) {
        self.send_advisory(what, fields, AdvisoryShape::Delivery);
    }

    /// Publishes `$JS.EVENT.ADVISORY.CONSUMER.<what>.<stream>.<consumer>` when someone
    /// listens: the typed event (`fields["type"]`), then the fields in the order of Go's
    /// struct for `shape`, then the rest of `fields`.
    fn send_advisory(&self, what: &str, fields: serde_json::Value, shape: AdvisoryShape) {
        let subject = format!(
            "$JS.EVENT.ADVISORY.CONSUMER.{what}.{}.{}",
            self.stream_name, self.name
        );
        if !self.account.sublist.has_interest(&subject) {
            return;
        }
        let Some(server) = self.server.upgrade() else {
            return;
        };
        let mut advisory = serde_json::Map::new();
        advisory.insert("type".into(), fields["type"].clone());
        advisory.insert(
            "id".into(),
            serde_json::json!(crate::events::messages::next_event_id()),
        );
        advisory.insert("timestamp".into(), serde_json::json!(GoTime::now()));
        if shape == AdvisoryShape::Group {
            advisory.insert("account".into(), serde_json::json!(self.account.name));
        }
        advisory.insert("stream".into(), serde_json::json!(self.stream_name));
        advisory.insert("consumer".into(), serde_json::json!(self.name));
        let domain = (!self.domain.is_empty()).then(|| serde_json::json!(self.domain));
        if shape == AdvisoryShape::Group {
            if let Some(d) = domain.clone() {
                advisory.insert("domain".into(), d);
            }
        }
        if let serde_json::Value::Object(rest) = fields {
            for (k, v) in rest {
                if k != "type" {
                    advisory.insert(k, v);
                }
            }
        }
        if shape == AdvisoryShape::Delivery {
            if let Some(d) = domain {
                advisory.insert("domain".into(), d);
            }
        }
        let body = crate::monitor::http::to_go_json_compact(&serde_json::Value::Object(advisory));
        crate::events::internal::publish(
            &server,
            &self.client,
            &self.account,
            &subject,
            None,
            None,
            &body,
        );
    }

    /// Go's ack metric on `$JS.EVENT.METRIC.CONSUMER.ACK.<stream>.<consumer>`, only
    /// when someone listens.
    pub(super) fn send_ack_metric(
        &self,
        server: &ServerShared,
        sseq: u64,
        dseq: u64,
        dc: u64,
        delay: i64,
    ) {
        let subject = format!(
            "$JS.EVENT.METRIC.CONSUMER.ACK.{}.{}",
            self.stream_name, self.name
        );
        if !self.account.sublist.has_interest(&subject) {
            return;
        }
        let mut metric = serde_json::json!({
            "type": "io.nats.jetstream.metric.v1.consumer_ack",
            "id": crate::events::messages::next_event_id(),
            "timestamp": GoTime::now(),
            "stream": self.stream_name,
            "consumer": self.name,
            "consumer_seq": dseq,
            "stream_seq": sseq,
            "ack_time": delay,
            "deliveries": dc,
        });
        if !self.domain.is_empty() {
            metric["domain"] = serde_json::json!(self.domain);
        }
        let body = crate::monitor::http::to_go_json_compact(&metric);
        crate::events::internal::publish(
            server,
            &self.client,
            &self.account,
            &subject,
            None,
            None,
            &body,
        );
    }
}

/// Where Go's consumer advisory structs put their common fields: priority group events
/// carry the account and the domain before their own fields, delivery events (max
/// deliveries, nak, terminated) no account and the domain last.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AdvisoryShape {
    Group,
    Delivery,
}
