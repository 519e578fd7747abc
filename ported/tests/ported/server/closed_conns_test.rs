//! Ports of server/closed_conns_test.go: the ring of recently closed connections and the
//! reasons recorded for them.
#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::closed::ClosedState;
use natsd::monitor::connz::{connz, ConnState, ConnzOptions};
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{
    check_for, create_conf_file, default_test_options, load_config, re, run_server, RawConn,
};
use ported::tls_client::{connect, test_cert, ClientOptions};
use std::time::Duration;

/// Go's `checkClosedConns`: waits until the ring holds `num` closed connections.
fn check_closed_conns(s: &BackgroundServer, num: usize, wait: Duration) {
    check_for(wait, Duration::from_millis(5), || {
        let n = s.shared().monitor.num_closed();
        if n == num {
            Ok(())
        } else {
            Err(format!("Closed conns expected to be {num}, got {n}"))
        }
    });
}

/// Go's `checkTotalClosedConns`: waits until `num` connections were ever recorded closed.
fn check_total_closed_conns(s: &BackgroundServer, num: u64, wait: Duration) {
    check_for(wait, Duration::from_millis(5), || {
        let n = s.shared().monitor.total_closed();
        if n == num {
            Ok(())
        } else {
            Err(format!("Total closed conns expected to be {num}, got {n}"))
        }
    });
}

/// Go's `checkReason`: the recorded reason names the expected closed state.
fn check_reason(reason: &str, expected: ClosedState) {
    assert!(
        reason.contains(&expected.to_string()),
        "Expected closed connection with `{expected}` state, got `{reason}`"
    );
}

/// Connects the way nats.go does (INFO, CONNECT with optional user/password, PING) and
/// waits for the PONG; returns the connection and its client id from INFO. `Err` carries
/// the server's error line when it refuses the connection.
fn nats_connect(
    s: &BackgroundServer,
    user_pass: Option<(&str, &str)>,
) -> Result<(RawConn, u64), String> {
    let mut conn = RawConn::connect(s.addr);
    let info = conn.check_info();
    let cid = info["client_id"].as_u64().expect("client_id in INFO");
    let creds = match user_pass {
        Some((u, p)) => format!(",\"user\":\"{u}\",\"pass\":\"{p}\""),
        None => String::new(),
    };
    conn.send(&format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"lang\":\"go\",\"version\":\"1.0\"{creds}}}\r\nPING\r\n"
    ));
    let pong_or_err = regex::bytes::Regex::new(r"\A(PONG|-ERR [^\r\n]+)\r\n").unwrap();
    let reply = conn.expect(&pong_or_err);
    let reply = String::from_utf8_lossy(&reply).into_owned();
    if reply.starts_with("PONG") {
        Ok((conn, cid))
    } else {
        Err(reply)
    }
}

port!("server/closed_conns_test.go::TestClosedTLSHandshake" => closed_tls_handshake);
fn closed_tls_handshake() {
    let conf = create_conf_file(
        format!(
            r#"
listen: 127.0.0.1:-1
tls {{
  cert_file:  "{}"
  key_file:   "{}"
  timeout:    "2s"
}}
authorization {{
  user:     derek
  password: foo
  timeout:  1
}}
"#,
            test_cert("server-cert.pem"),
            test_cert("server-key.pem")
        )
        .as_bytes(),
    );
    let mut opts = load_config(conf);
    opts.tls_verify = true;
    let s = run_server(opts);
    // The client does not trust the server's certificate: the handshake fails.
    assert!(
        connect(s.addr, &ClientOptions::default()).is_err(),
        "Expected failure for connection"
    );
    check_for(Duration::from_secs(2), Duration::from_millis(15), || {
        let n = s.shared().monitor.closed_clients().len();
        if n == 1 {
            Ok(())
        } else {
            Err(format!("closed clients expected to be 1, got {n}"))
        }
    });
    let conns = s.shared().monitor.closed_clients();
    assert_eq!(conns.len(), 1);
    assert_eq!(
        conns[0].info.reason,
        ClosedState::TlsHandshakeError.to_string()
    );
}

port!("server/closed_conns_test.go::TestClosedConnsAccounting" => closed_conns_accounting);
fn closed_conns_accounting() {
    let mut opts = default_test_options();
    opts.max_closed_clients = 10;
    opts.no_system_account = true;
    let max_closed = opts.max_closed_clients;
    let s = run_server(opts);
    let wait = Duration::from_secs(1);

    let (conn, id) = nats_connect(&s, None).expect("Error on connect");
    drop(conn);
    check_closed_conns(&s, 1, wait);
    let conns = s.shared().monitor.closed_clients();
    assert_eq!(conns.len(), 1, "len(conns) expected to be 1");
    assert_eq!(conns[0].info.cid, id, "Expected CID to be {id}");

    // 21 more, past the ring's capacity.
    for i in 0..21u64 {
        let (conn, _) = nats_connect(&s, None).expect("Error on connect");
        drop(conn);
        check_total_closed_conns(&s, i + 2, wait);
    }
    check_closed_conns(&s, max_closed, wait);
    check_total_closed_conns(&s, 22, wait);

    let conns = s.shared().monitor.closed_clients();
    assert_eq!(
        conns.len(),
        max_closed,
        "len(conns) expected to be {max_closed}"
    );
    // The oldest ones were dropped: the ring holds the last ones, in order.
    let mut cid = 22 - max_closed as u64;
    for ci in &conns {
        cid += 1;
        assert_eq!(ci.info.cid, cid, "Expected cid of {cid}");
    }
}

port!("server/closed_conns_test.go::TestClosedConnsSubsAccounting" => closed_conns_subs_accounting);
fn closed_conns_subs_accounting() {
    let s = run_server(default_test_options());
    let (mut conn, _) = nats_connect(&s, None).expect("Error on connect");
    let num_subs = 10;
    for i in 0..num_subs {
        conn.send(&format!("SUB foo.{i} {}\r\n", i + 1));
    }
    // Flush.
    conn.send("PING\r\n");
    conn.expect(&re::PONG);
    drop(conn);

    // Go waits 20ms here; allow for slower machines.
    check_closed_conns(&s, 1, Duration::from_secs(2));
    let conns = s.shared().monitor.closed_clients();
    assert_eq!(conns.len(), 1, "len(conns) expected to be 1");
    assert_eq!(
        conns[0].subs.len(),
        num_subs,
        "Expected number of Subs to be {num_subs}"
    );
    // The same through Connz, as the monitoring endpoint reports it.
    let cz = connz(
        s.shared(),
        &ConnzOptions {
            state: ConnState::Closed,
            subscriptions: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(cz.conns().len(), 1);
    assert_eq!(cz.conns()[0].num_subs as usize, num_subs);
    assert_eq!(cz.conns()[0].subs.len(), num_subs);
}

port!("server/closed_conns_test.go::TestClosedAuthorizationTimeout" => closed_authorization_timeout);
fn closed_authorization_timeout() {
    let mut opts = default_test_options();
    opts.authorization = "my_token".to_string();
    opts.auth_timeout = Duration::from_secs_f64(0.4);
    let s = run_server(opts);
    // Connect and say nothing: the server closes us after the auth timeout.
    let _conn = RawConn::connect(s.addr);
    check_closed_conns(&s, 1, Duration::from_secs(2));
    let conns = s.shared().monitor.closed_clients();
    assert_eq!(conns.len(), 1, "len(conns) expected to be 1");
    check_reason(&conns[0].info.reason, ClosedState::AuthenticationTimeout);
}

port!("server/closed_conns_test.go::TestClosedAuthorizationViolation" => closed_authorization_violation);
fn closed_authorization_violation() {
    let mut opts = default_test_options();
    opts.authorization = "my_token".to_string();
    let s = run_server(opts);
    assert!(
        nats_connect(&s, None).is_err(),
        "Expected failure for connection"
    );
    check_closed_conns(&s, 1, Duration::from_secs(2));
    let conns = s.shared().monitor.closed_clients();
    assert_eq!(conns.len(), 1, "len(conns) expected to be 1");
    check_reason(&conns[0].info.reason, ClosedState::AuthenticationViolation);
}

port!("server/closed_conns_test.go::TestClosedUPAuthorizationViolation" => closed_up_authorization_violation);
fn closed_up_authorization_violation() {
    let mut opts = default_test_options();
    opts.username = "my_user".to_string();
    opts.password = "my_secret".to_string();
    let s = run_server(opts);
    assert!(
        nats_connect(&s, None).is_err(),
        "Expected failure for connection"
    );
    assert!(
        nats_connect(&s, Some(("my_user", "wrong_pass"))).is_err(),
        "Expected failure for connection"
    );
    check_closed_conns(&s, 2, Duration::from_secs(2));
    let conns = s.shared().monitor.closed_clients();
    assert_eq!(conns.len(), 2, "len(conns) expected to be 2");
    check_reason(&conns[0].info.reason, ClosedState::AuthenticationViolation);
    check_reason(&conns[1].info.reason, ClosedState::AuthenticationViolation);
}

port!("server/closed_conns_test.go::TestClosedMaxPayload" => closed_max_payload);
fn closed_max_payload() {
    let mut opts = default_test_options();
    opts.max_payload = 100;
    let s = run_server(opts);
    let mut conn = RawConn::connect(s.addr);
    // A payload over the limit closes the connection.
    conn.send("PUB foo.bar 1024\r\n");
    check_closed_conns(&s, 1, Duration::from_secs(2));
    let conns = s.shared().monitor.closed_clients();
    assert_eq!(conns.len(), 1, "len(conns) expected to be 1");
    check_reason(&conns[0].info.reason, ClosedState::MaxPayloadExceeded);
}
