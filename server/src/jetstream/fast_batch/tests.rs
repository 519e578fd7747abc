use super::*;

fn reply(id: &str, seq: u64, flow: u16, gap: &str, op: u64) -> String {
    format!("_INBOX.x.{id}.{flow}.{gap}.{seq}.{op}.$FI")
}

fn op(id: &str, seq: u64, flow: u16, gap: &str, code: u64) -> FastOp {
    match parse_reply(&reply(id, seq, flow, gap, code)) {
        Parsed::Op(op) => op,
        other => panic!("not an op: {other:?}"),
    }
}

fn ack(seq: u64, msgs: u16) -> Out {
    Out::Flow(flow_ack(seq, msgs))
}

fn gap(expected: u64, current: u64) -> Out {
    Out::Flow(flow_gap(expected, current))
}

/// A standalone stream: a message that passes its checks is stored at the next
/// sequence right away.
struct Harness {
    batches: FastBatches,
    limits: Limits,
    last_seq: u64,
    now: i64,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            batches: FastBatches::default(),
            limits: Limits {
                max_inflight_per_stream: 1000,
                max_inflight_total: i64::MAX,
                timeout: Duration::from_secs(10),
            },
            last_seq: 0,
            now: 1,
        }
    }

    /// Publishes; `failure` is what the stream's checks say of the message.
    fn publish_with(&mut self, op: &FastOp, failure: Option<CheckFailure>) -> Vec<Out> {
        let mut out = Vec::new();
        let next = self
            .batches
            .accept(op, &self.limits, self.now, true, false, &mut out);
        if next == Next::Check {
            match failure {
                Some(f) => self.batches.check_failed(op, f, &mut out),
                None => {
                    self.batches.will_store(&op.id);
                    self.last_seq += 1;
                    self.batches.stored(op, self.last_seq, &mut out);
                }
            }
        }
        out
    }

    fn publish(&mut self, op: &FastOp) -> Vec<Out> {
        self.publish_with(op, None)
    }
}

#[test]
fn parse_reads_every_token() {
    let r = reply("uuid", 7, 25, "ok", OP_APPEND);
    assert_eq!(
        parse_reply(&r),
        Parsed::Op(FastOp {
            id: "uuid".into(),
            seq: 7,
            flow: 25,
            gap_ok: true,
            ping: false,
            commit: false,
            commit_eob: false,
        })
    );
    let c = op("b", 3, 1, "fail", OP_COMMIT_EOB);
    assert!(c.commit && c.commit_eob && !c.gap_ok);
    let p = op("b", 9, 1, "fail", OP_PING);
    assert!(p.ping && !p.commit);
}

#[test]
fn parse_flow_defaults_and_clamps() {
    assert_eq!(op("b", 1, 0, "fail", OP_START).flow, 10);
    let r = "_INBOX.b.99999999.fail.1.0.$FI";
    assert!(matches!(parse_reply(r), Parsed::Op(o) if o.flow == u16::MAX));
    let r = "_INBOX.b.x.fail.1.0.$FI";
    assert!(matches!(parse_reply(r), Parsed::Op(o) if o.flow == 10));
}

#[test]
fn parse_refuses_what_breaks_the_pattern() {
    assert_eq!(parse_reply("_INBOX.foo"), Parsed::NotFast);
    assert_eq!(parse_reply(".$FI"), Parsed::NotFast);
    for bad in [
        reply("b", 0, 0, "fail", OP_START),       // sequence 0
        reply("b", 2, 0, "fail", OP_START),       // start must be 1
        reply("b", 1, 0, "fail", OP_APPEND),      // append after 1
        reply("b", 1, 0, "fail", OP_COMMIT_EOB),  // nothing to end
        reply("b", 1, 0, "unknown", OP_START),    // gap mode
        reply("b", 1, 0, "fail", 5),              // operation
        reply("b", u64::MAX, 0, "ok", OP_COMMIT), // would wrap
        reply("b", u64::MAX, 0, "ok", OP_COMMIT_EOB),
        "b.0.fail.1.0.$FI".to_string(), // no prefix before the id
        "x.b.0.fail.+1.0.$FI".to_string(),
    ] {
        assert_eq!(parse_reply(&bad), Parsed::Invalid, "{bad}");
    }
    // One below the largest is a valid sequence.
    assert!(matches!(
        parse_reply(&reply("b", u64::MAX - 1, 0, "ok", OP_APPEND)),
        Parsed::Op(_)
    ));
}

#[test]
fn precheck_order() {
    let long = "A".repeat(65);
    let p = parse_reply(&reply(&long, 1, 0, "fail", OP_START));
    assert_eq!(
        precheck(false, &p).unwrap_err().err_code,
        errors::BATCH_PUBLISH_DISABLED.new().err_code
    );
    assert_eq!(
        precheck(true, &p).unwrap_err().err_code,
        errors::BATCH_PUBLISH_INVALID_BATCH_ID.new().err_code
    );
    assert_eq!(
        precheck(true, &Parsed::Invalid).unwrap_err().err_code,
        errors::BATCH_PUBLISH_INVALID_PATTERN.new().err_code
    );
}

#[test]
fn flow_messages_are_gos_json() {
    assert_eq!(flow_ack(4, 2), br#"{"type":"ack","seq":4,"msgs":2}"#);
    assert_eq!(flow_gap(3, 4), br#"{"type":"gap","last_seq":3,"seq":4}"#);
    let e = flow_err(
        2,
        &errors::STREAM_WRONG_LAST_SEQUENCE.with(&[("{seq}", &1)]),
    );
    assert_eq!(
        String::from_utf8(e).unwrap(),
        r#"{"type":"err","seq":2,"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 1"}}"#
    );
}

#[test]
fn batch_commits_with_count_and_last_stream_sequence() {
    let mut h = Harness::new();
    h.last_seq = 1;
    assert_eq!(
        h.publish(&op("u", 1, 0, "fail", OP_START)),
        vec![ack(0, 10)]
    );
    for seq in 2..5 {
        assert!(h.publish(&op("u", seq, 0, "fail", OP_APPEND)).is_empty());
    }
    assert_eq!(
        h.publish(&op("u", 5, 0, "fail", OP_COMMIT)),
        vec![Out::PubAck { seq: 6, count: 5 }]
    );
    assert!(h.batches.is_empty());
}

#[test]
fn single_message_commit_has_no_flow_ack() {
    let mut h = Harness::new();
    assert_eq!(
        h.publish(&op("u", 1, 0, "fail", OP_COMMIT)),
        vec![Out::PubAck { seq: 1, count: 1 }]
    );
}

#[test]
fn unknown_batch_and_inflight_limits() {
    let mut h = Harness::new();
    let out = h.publish(&op("u", 2, 0, "fail", OP_APPEND));
    assert_eq!(
        out,
        vec![Out::Error(errors::BATCH_PUBLISH_UNKNOWN_BATCH_ID.new())]
    );
    h.limits.max_inflight_per_stream = 1;
    h.publish(&op("a", 1, 0, "fail", OP_START));
    let out = h.publish(&op("b", 1, 0, "fail", OP_START));
    assert_eq!(
        out,
        vec![Out::Error(errors::BATCH_PUBLISH_TOO_MANY_INFLIGHT.new())]
    );
    h.limits.max_inflight_per_stream = 10;
    h.limits.max_inflight_total = 0;
    let out = h.publish(&op("c", 1, 0, "fail", OP_START));
    assert_eq!(
        out,
        vec![Out::Error(errors::BATCH_PUBLISH_TOO_MANY_INFLIGHT.new())]
    );
}

#[test]
fn required_api_level_ends_the_batch() {
    let mut h = Harness::new();
    h.publish(&op("u", 1, 0, "fail", OP_START));
    let mut out = Vec::new();
    let next = h.batches.accept(
        &op("u", 2, 0, "fail", OP_APPEND),
        &h.limits,
        h.now,
        true,
        true,
        &mut out,
    );
    assert_eq!(next, Next::Done);
    assert_eq!(out, vec![Out::Error(errors::REQUIRED_API_LEVEL.new())]);
    assert!(h.batches.is_empty());
}

#[test]
fn idle_batch_expires_at_its_deadline() {
    let mut h = Harness::new();
    h.limits.timeout = Duration::from_millis(750);
    h.publish(&op("u", 1, 2, "fail", OP_START));
    // Each message moves the deadline.
    h.now += 500_000_000;
    h.publish(&op("u", 2, 2, "fail", OP_APPEND));
    h.now += 500_000_000;
    assert_eq!(h.batches.next_deadline(), Some(h.now + 250_000_000));
    h.publish(&op("u", 3, 2, "fail", OP_APPEND));
    assert_eq!(h.batches.len(), 1);
    h.now += 750_000_000;
    let out = h.publish(&op("u", 4, 2, "fail", OP_APPEND));
    assert_eq!(
        out,
        vec![Out::Error(errors::BATCH_PUBLISH_UNKNOWN_BATCH_ID.new())]
    );
}

#[test]
fn gap_fail_commits_what_was_persisted() {
    let mut h = Harness::new();
    h.publish(&op("u", 1, 0, "fail", OP_START));
    assert_eq!(
        h.publish(&op("u", 3, 0, "fail", OP_APPEND)),
        vec![gap(2, 3), Out::PubAck { seq: 1, count: 1 }]
    );
    assert!(h.batches.is_empty());
}

#[test]
fn gap_ok_continues_and_eob_commits() {
    let mut h = Harness::new();
    h.publish(&op("u", 1, 0, "ok", OP_START));
    assert_eq!(h.publish(&op("u", 3, 0, "ok", OP_APPEND)), vec![gap(2, 3)]);
    assert_eq!(
        h.publish(&op("u", 4, 0, "ok", OP_COMMIT_EOB)),
        vec![Out::PubAck { seq: 2, count: 3 }]
    );
}

#[test]
fn backward_sequence_ends_a_gap_ok_batch_without_gap_report() {
    let mut h = Harness::new();
    h.publish(&op("u", 1, 0, "ok", OP_START));
    assert_eq!(h.publish(&op("u", 5, 0, "ok", OP_APPEND)), vec![gap(2, 5)]);
    assert_eq!(
        h.publish(&op("u", 3, 0, "ok", OP_APPEND)),
        vec![Out::PubAck { seq: 2, count: 5 }]
    );
}

#[test]
fn flow_acks_every_n_persisted() {
    let mut h = Harness::new();
    assert_eq!(h.publish(&op("u", 1, 2, "fail", OP_START)), vec![ack(0, 2)]);
    assert_eq!(
        h.publish(&op("u", 2, 2, "fail", OP_APPEND)),
        vec![ack(2, 2)]
    );
    assert!(h.publish(&op("u", 3, 2, "fail", OP_APPEND)).is_empty());
    assert_eq!(
        h.publish(&op("u", 4, 2, "fail", OP_APPEND)),
        vec![ack(4, 2)]
    );
    assert_eq!(
        h.publish(&op("u", 5, 2, "fail", OP_COMMIT)),
        vec![Out::PubAck { seq: 5, count: 5 }]
    );
}

#[test]
fn flow_ramps_toward_the_share_and_back() {
    let mut h = Harness::new();
    // A second batch starts at one message and doubles while under its share.
    h.publish(&op("a", 1, 1000, "fail", OP_START));
    assert_eq!(
        h.publish(&op("b", 1, 1000, "fail", OP_START)),
        vec![ack(0, 1), ack(1, 2)]
    );
    assert_eq!(h.publish(&op("b", 2, 1000, "fail", OP_APPEND)), vec![]);
    assert_eq!(
        h.publish(&op("b", 3, 1000, "fail", OP_APPEND)),
        vec![ack(3, 4)]
    );
    // The first batch (at 500) halves toward its share of 250.
    let mut out = Vec::new();
    for seq in 2..=500 {
        out = h.publish(&op("a", seq, 1000, "fail", OP_APPEND));
    }
    assert_eq!(out, vec![ack(500, 250)]);
}

#[test]
fn ping_resends_the_ack_and_reports_gaps() {
    let mut h = Harness::new();
    assert_eq!(h.publish(&op("u", 1, 2, "ok", OP_START)), vec![ack(0, 2)]);
    assert_eq!(h.publish(&op("u", 2, 2, "ok", OP_APPEND)), vec![ack(2, 2)]);
    assert_eq!(h.publish(&op("u", 2, 2, "ok", OP_PING)), vec![ack(2, 2)]);
    assert_eq!(
        h.publish(&op("u", 3, 2, "ok", OP_PING)),
        vec![gap(3, 4), ack(2, 2)]
    );
    assert_eq!(h.publish(&op("u", 4, 2, "ok", OP_APPEND)), vec![ack(4, 2)]);
    assert_eq!(
        h.publish(&op("u", 100, 2, "ok", OP_PING)),
        vec![gap(5, 101), ack(100, 2)]
    );
    assert_eq!(
        h.publish(&op("u", 101, 2, "ok", OP_COMMIT_EOB)),
        vec![Out::PubAck { seq: 3, count: 100 }]
    );
}

#[test]
fn ping_on_gap_fail_commits() {
    let mut h = Harness::new();
    h.publish(&op("u", 1, 0, "fail", OP_START));
    assert_eq!(
        h.publish(&op("u", 4, 0, "fail", OP_PING)),
        vec![gap(2, 5), Out::PubAck { seq: 1, count: 1 }]
    );
    assert!(h.batches.is_empty());
}

fn dup(seq: u64) -> Option<CheckFailure> {
    Some(CheckFailure::Duplicate {
        seq,
        error: errors::ATOMIC_PUBLISH_CONTAINS_DUPLICATE_MESSAGE.new(),
    })
}

#[test]
fn duplicates_count_as_persisted() {
    let mut h = Harness::new();
    // A one-message batch that is a duplicate is answered like a single publish.
    assert_eq!(
        h.publish_with(&op("u", 1, 0, "fail", OP_COMMIT), dup(1)),
        vec![Out::Duplicate { seq: 1, count: 1 }]
    );
    assert!(h.batches.is_empty());
    let mut outs = Vec::new();
    for seq in 1..=5 {
        let code = match seq {
            1 => OP_START,
            5 => OP_COMMIT,
            _ => OP_APPEND,
        };
        outs.extend(h.publish_with(&op("u", seq, 3, "fail", code), dup(1)));
    }
    assert_eq!(
        outs,
        vec![ack(0, 3), ack(3, 3), Out::PubAck { seq: 0, count: 5 }]
    );
    assert!(h.batches.is_empty());
}

#[test]
fn duplicate_eob_commit() {
    let mut h = Harness::new();
    h.publish(&op("u", 1, 0, "fail", OP_START));
    h.publish_with(&op("u", 2, 0, "fail", OP_APPEND), dup(1));
    assert_eq!(
        h.publish(&op("u", 3, 0, "fail", OP_COMMIT_EOB)),
        vec![Out::PubAck { seq: 1, count: 2 }]
    );
}

#[test]
fn check_error_reports_and_commits_the_rest() {
    let wrong = errors::STREAM_WRONG_LAST_SEQUENCE.with(&[("{seq}", &1)]);
    // On the first message: answered like a single publish.
    let mut h = Harness::new();
    assert_eq!(
        h.publish_with(
            &op("u", 1, 0, "fail", OP_START),
            Some(CheckFailure::Error(wrong.clone()))
        ),
        vec![ack(0, 10), Out::ErrorAlways(wrong.clone())]
    );
    assert!(h.batches.is_empty());
    // After a duplicate: an err flow message, then the ack of what came before.
    let mut h = Harness::new();
    assert_eq!(
        h.publish_with(&op("u", 1, 2, "fail", OP_START), dup(1)),
        vec![ack(0, 2)]
    );
    assert_eq!(
        h.publish_with(
            &op("u", 2, 2, "fail", OP_APPEND),
            Some(CheckFailure::Error(wrong.clone()))
        ),
        vec![
            Out::Flow(flow_err(2, &wrong)),
            Out::PubAck { seq: 0, count: 1 }
        ]
    );
    // With gaps allowed the batch goes on.
    let mut h = Harness::new();
    h.publish(&op("u", 1, 0, "ok", OP_START));
    assert_eq!(
        h.publish_with(
            &op("u", 2, 0, "ok", OP_APPEND),
            Some(CheckFailure::Error(wrong.clone()))
        ),
        vec![Out::Flow(flow_err(2, &wrong))]
    );
    assert_eq!(
        h.publish(&op("u", 3, 0, "ok", OP_COMMIT)),
        vec![Out::PubAck { seq: 2, count: 3 }]
    );
}

#[test]
fn committing_batch_ignores_further_messages() {
    let mut h = Harness::new();
    h.publish(&op("u", 1, 0, "fail", OP_START));
    // A message on its way (not persisted yet) keeps the commit waiting.
    let m2 = op("u", 2, 0, "fail", OP_APPEND);
    let mut out = Vec::new();
    assert_eq!(
        h.batches
            .accept(&m2, &h.limits, h.now, true, false, &mut out),
        Next::Check
    );
    h.batches.will_store("u");
    assert!(h.publish(&op("u", 3, 0, "fail", OP_COMMIT_EOB)).is_empty());
    assert!(h.publish(&op("u", 4, 0, "fail", OP_APPEND)).is_empty());
    h.batches.stored(&m2, 7, &mut out);
    assert_eq!(out, vec![Out::PubAck { seq: 7, count: 2 }]);
    assert!(h.batches.is_empty());
}

#[test]
fn initial_flow_depends_on_siblings() {
    let t = Duration::from_secs(3600);
    let mut b = FastBatches::default();
    assert_eq!(b.open_batch("b1", false, 1000, 0, t), 500);
    assert_eq!(b.open_batch("b2", false, 1000, 0, t), 1);
    b.reset("b1", 0, t);
    assert_eq!(b.flow_of("b1"), Some(1));
    b.open.remove("b2");
    assert_eq!(b.reinit_flow("b1"), 500);
    b.open.remove("b1");
    assert_eq!(b.open_batch("b3", false, 50, 0, t), 50);
    assert_eq!(b.open_batch("b4", false, 50, 0, t), 1);
}
