//! Ports of `test/proto_test.go`: the client protocol over a raw TCP connection.
//!
//! Go runs these on the fixed port 9922; here every server takes a random port so the
//! ports run in parallel.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::config::Options;
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{check_for, check_msg, default_test_options, re, run_server, RawConn};
use std::collections::HashMap;
use std::time::Duration;

/// Go's `runProtoServer`: the default test options with a 256-byte control line limit,
/// without a system account.
pub(crate) fn proto_options() -> Options {
    Options {
        max_control_line: 256,
        no_system_account: true,
        ..default_test_options()
    }
}

pub(crate) fn run_proto_server() -> BackgroundServer {
    run_server(proto_options())
}

/// Counts messages per sid.
fn count_by_sid(msgs: &[ported::support::Msg]) -> HashMap<String, usize> {
    let mut sids = HashMap::new();
    for m in msgs {
        *sids.entry(m.sid.clone()).or_insert(0) += 1;
    }
    sids
}

port!("test/proto_test.go::TestProtoBasics" => proto_basics);
fn proto_basics() {
    let s = run_proto_server();
    let mut c = RawConn::setup(s.addr);

    // Ping
    c.send("PING\r\n");
    c.expect(&re::PONG);

    // Single Msg
    c.send("SUB foo 1\r\nPUB foo 5\r\nhello\r\n");
    let m = c.expect_msgs(1);
    check_msg(&m[0], "foo", "1", "", "5", "hello");

    // 2 Messages, in any order.
    c.send("SUB * 2\r\nPUB foo 2\r\nok\r\n");
    let m = c.expect_msgs(2);
    check_msg(&m[0], "foo", "", "", "2", "ok");
    check_msg(&m[1], "foo", "", "", "2", "ok");
    // One per subscription.
    let mut sids: Vec<&str> = m.iter().map(|m| m.sid.as_str()).collect();
    sids.sort_unstable();
    assert_eq!(sids, ["1", "2"]);
}

port!("test/proto_test.go::TestProtoErr" => proto_err);
fn proto_err() {
    let s = run_proto_server();
    let mut c = RawConn::setup(s.addr);
    // An error on a bad protocol operation.
    c.send("ZZZ");
    c.expect_err("Unknown Protocol Operation");
}

port!("test/proto_test.go::TestUnsubMax" => unsub_max);
fn unsub_max() {
    let s = run_proto_server();
    let mut c = RawConn::setup(s.addr);
    c.send("SUB foo 22\r\n");
    c.send("UNSUB 22 2\r\n");
    for _ in 0..100 {
        c.send("PUB foo 2\r\nok\r\n");
    }
    std::thread::sleep(Duration::from_millis(50));
    let m = c.expect_msgs(2);
    check_msg(&m[0], "foo", "22", "", "2", "ok");
    check_msg(&m[1], "foo", "22", "", "2", "ok");
}

port!("test/proto_test.go::TestQueueSub" => queue_sub);
fn queue_sub() {
    let s = run_proto_server();
    let mut c = RawConn::setup(s.addr);
    let sent = 100;
    c.send("SUB foo qgroup1 22\r\n");
    c.send("SUB foo qgroup1 32\r\n");
    for _ in 0..sent {
        c.send("PUB foo 2\r\nok\r\n");
    }
    // Wait for responses
    std::thread::sleep(Duration::from_millis(250));
    let m = c.expect_msgs(sent);
    let sids = count_by_sid(&m);
    assert_eq!(sids.len(), 2, "Expected only 2 sids, got {}", sids.len());
    for (k, c) in &sids {
        assert!(*c >= 35, "Expected ~50 (+-15) msgs for sid:'{k}', got {c}");
    }
}

port!("test/proto_test.go::TestMultipleQueueSub" => multiple_queue_sub);
fn multiple_queue_sub() {
    let s = run_proto_server();
    let mut c = RawConn::setup(s.addr);
    let sent = 100;
    c.send("SUB foo g1 1\r\n");
    c.send("SUB foo g1 2\r\n");
    c.send("SUB foo g2 3\r\n");
    c.send("SUB foo g2 4\r\n");
    for _ in 0..sent {
        c.send("PUB foo 2\r\nok\r\n");
    }
    // Wait for responses
    std::thread::sleep(Duration::from_millis(250));
    let m = c.expect_msgs(sent * 2);
    let sids = count_by_sid(&m);
    assert_eq!(sids.len(), 4, "Expected 4 sids, got {}", sids.len());
    for (k, c) in &sids {
        assert!(*c >= 35, "Expected ~50 (+-15) msgs for '{k}', got {c}");
    }
}

port!("test/proto_test.go::TestPubToArgState" => pub_to_arg_state);
fn pub_to_arg_state() {
    let s = run_proto_server();
    let mut c = RawConn::setup(s.addr);
    c.send("PUBS foo 2\r\nok\r\n");
    c.expect_err("Unknown Protocol Operation");
}

port!("test/proto_test.go::TestSubToArgState" => sub_to_arg_state);
fn sub_to_arg_state() {
    let s = run_proto_server();
    let mut c = RawConn::setup(s.addr);
    c.send("SUBZZZ foo 1\r\n");
    c.expect_err("Unknown Protocol Operation");
}

// Issue #63: a CONNECT whose CRLF arrives in a later read.
port!("test/proto_test.go::TestProtoCrash" => proto_crash);
fn proto_crash() {
    let s = run_proto_server();
    let mut c = RawConn::connect(s.addr);
    c.check_info();
    c.send(
        "CONNECT {\"verbose\":true,\"tls_required\":false,\"user\":\"test\",\"pedantic\":true,\"pass\":\"password\"}",
    );
    std::thread::sleep(Duration::from_millis(100));
    c.send("\r\n");
    c.expect(&re::OK);
}

// Issue #136: a second SUB with the same sid does not add a subscription.
port!("test/proto_test.go::TestDuplicateProtoSub" => duplicate_proto_sub);
fn duplicate_proto_sub() {
    let s = run_proto_server();
    let mut c = RawConn::setup(s.addr);
    c.send("PING\r\n");
    c.expect(&re::PONG);
    c.send("SUB foo 1\r\n");
    c.send("SUB foo 1\r\n");

    check_for(
        Duration::from_millis(250),
        Duration::from_millis(50),
        || match s.shared().num_subscriptions() {
            0 => Err("no subscription yet".to_string()),
            _ => Ok(()),
        },
    );
    // Both SUBs have been processed once a PING sent after them is answered.
    c.send("PING\r\n");
    c.expect(&re::PONG);
    let ns = s.shared().num_subscriptions();
    assert_eq!(ns, 1, "Expected 1 subscription, got {ns}");
}

port!("test/proto_test.go::TestIncompletePubArg" => incomplete_pub_arg);
fn incomplete_pub_arg() {
    let s = run_proto_server();
    let mut c = RawConn::setup(s.addr);

    let size = 10000;
    let good = format!("{}\r\n", "A".repeat(size));
    let bad = "B".repeat(3371);
    // The third message is short, so the next PUB becomes part of its payload and what
    // follows breaks the protocol.
    let bad2 = format!("{}\r\n", "C".repeat(size));
    let p = "PUB example 10000\r\n";
    c.send(&format!("{p}{good}{p}{good}{p}{bad}{p}{bad2}"));
    c.expect_err("Unknown Protocol Operation");
}

port!("test/proto_test.go::TestControlLineMaximums" => control_line_maximums);
fn control_line_maximums() {
    let s = run_proto_server();
    let mut c = RawConn::setup(s.addr);
    let pub_too_long = format!("PUB foo {}", "2222222222".repeat(32));
    c.send(&pub_too_long);
    c.expect_err("maximum control line exceeded");
}

port!("test/proto_test.go::TestServerInfoWithClientAdvertise" => server_info_with_client_advertise);
fn server_info_with_client_advertise() {
    let opts = Options {
        client_advertise: "me:1".to_string(),
        ..default_test_options()
    };
    let s = run_server(opts);
    let mut c = RawConn::connect(s.addr);
    let info = c.check_info();
    assert!(
        info["host"] == "me" && info["port"] == 1,
        "Expected INFO Host:Port to be me:1, got {}:{}",
        info["host"],
        info["port"]
    );
}
