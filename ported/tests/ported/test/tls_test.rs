//! Ports of test/tls_test.go. The Go tests' certificates are replaced by natsd's own
//! (server/tests/certs, made by its gen.sh with the same subjects and alternative names);
//! the Go client's `nats.Connect` by `ported::tls_client::connect`, which connects the
//! same way (INFO, TLS upgrade, CONNECT + PING, PONG or -ERR).
#![allow(clippy::unwrap_used)] // tests fail by panicking

use ported::port;
use ported::support::{
    check_for, create_conf_file, load_config, run_server, run_server_with_config,
};
use ported::tls_client::{connect, ClientOptions, NatsConn};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::time::Duration;

/// The test certificates.
fn certs() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/certs").to_string()
}

fn cert(name: &str) -> String {
    format!("{}/{name}", certs())
}

/// A Go test configuration with its certificate paths pointing at natsd's certificates.
fn conf(text: &str) -> std::path::PathBuf {
    let text = text
        .replace("./configs/certs/", &format!("{}/", certs()))
        .replace("configs/certs/", &format!("{}/", certs()));
    create_conf_file(text.as_bytes())
}

/// `configs/tls.conf` on a random port (the HTTPS monitor it also opens is not used by
/// these tests).
const TLS_CONF: &str = r#"
listen: 127.0.0.1:-1
tls {
  cert_file: "./configs/certs/server-cert.pem"
  key_file:  "./configs/certs/server-key.pem"
  timeout: 2
}
authorization {
  user:     derek
  password: monkey
  timeout:  1
}
"#;

const TLSVERIFY_CONF: &str = r#"
listen: 127.0.0.1:-1
tls {
  cert_file: "./configs/certs/server-cert.pem"
  key_file:  "./configs/certs/server-key.pem"
  timeout: 2
  ca_file:   "./configs/certs/ca.pem"
  verify:    true
}
"#;

fn ca() -> ClientOptions {
    ClientOptions::default().root_ca(cert("ca.pem"))
}

port!("test/tls_test.go::TestTLSConnection" => tls_connection);
fn tls_connection() {
    let (srv, _) = run_server_with_config(conf(TLS_CONF));
    // The server's certificate is not trusted without the CA.
    let e = connect(srv.addr, &ClientOptions::default().user("derek", "monkey"));
    assert!(
        e.is_err(),
        "Expected error trying to connect to secure server"
    );
    assert!(
        connect(srv.addr, &ClientOptions::default()).is_err(),
        "Expected error trying to connect to secure server with no auth"
    );
    let mut nc = connect(srv.addr, &ca().user("derek", "monkey"))
        .unwrap_or_else(|e| panic!("Got an error on Connect with Secure Options: {e}"));
    assert!(nc.tls.is_some());
    nc.subscribe("foo-tls", "1");
    nc.publish("foo-tls", b"We are Secure!");
    nc.flush().unwrap();
    assert_eq!(
        nc.pending_msgs(),
        1,
        "Expected to receive a message over the TLS connection"
    );
}

port!("test/tls_test.go::TestTLSInProcessConnection" => tls_in_process_connection);
fn tls_in_process_connection() {
    let (srv, opts) = run_server_with_config(conf(TLS_CONF));
    // A client without any TLS option, as `nats.Connect("", nats.InProcessServer(srv))`.
    let mut nc = ported::tls_client::connect_in_process(
        &srv,
        &ClientOptions::default()
            .plain()
            .user(&opts.username, &opts.password),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    nc.flush().unwrap();
    assert!(
        !nc.info["tls_required"].as_bool().unwrap_or(false),
        "Shouldn't have required TLS for in-process connection"
    );
    assert!(
        nc.tls.is_none(),
        "Should have got an error retrieving TLS connection state"
    );
}

port!("test/tls_test.go::TestTLSClientCertificate" => tls_client_certificate);
fn tls_client_certificate() {
    let (srv, _) = run_server_with_config(conf(TLSVERIFY_CONF));
    assert!(
        connect(srv.addr, &ClientOptions::default()).is_err(),
        "Expected error trying to connect to secure server without a certificate"
    );
    // With the CA but still no certificate: refused by the server.
    assert!(connect(srv.addr, &ca()).is_err());
    let mut nc = connect(
        srv.addr,
        &ca().client_cert(cert("client-cert.pem"), cert("client-key.pem")),
    )
    .unwrap_or_else(|e| panic!("Got an error on Connect with Secure Options: {e}"));
    nc.flush().unwrap();
}

port!("test/tls_test.go::TestTLSClientCertificateHasUserID" => tls_client_certificate_has_user_id);
fn tls_client_certificate_has_user_id() {
    let (srv, _) = run_server_with_config(conf(
        r#"
listen: 127.0.0.1:-1
tls {
  cert_file: "./configs/certs/server-cert.pem"
  key_file:  "./configs/certs/server-key.pem"
  timeout: 2
  ca_file:   "./configs/certs/ca.pem"
  verify_and_map: true
}
authorization {
  users = [
    {user: derek@nats.io, permissions: { publish:"foo" }}
  ]
}
"#,
    ));
    let mut nc = connect(
        srv.addr,
        &ca().client_cert(
            cert("client-id-auth-cert.pem"),
            cert("client-id-auth-key.pem"),
        ),
    )
    .unwrap_or_else(|e| panic!("Expected to connect, got {e}"));
    nc.flush().unwrap();
}

port!("test/tls_test.go::TestTLSClientCertificateCheckWithAllowedConnectionTypes" => tls_client_certificate_check_with_allowed_connection_types);
fn tls_client_certificate_check_with_allowed_connection_types() {
    let (srv, _) = run_server_with_config(conf(
        r#"
listen: "127.0.0.1:-1"
tls {
  cert_file: "./configs/certs/server-cert.pem"
  key_file:  "./configs/certs/server-key.pem"
  timeout: 2
  ca_file:   "./configs/certs/ca.pem"
  verify_and_map: true
}
authorization {
  users = [
    {user: derek@nats.io, permissions: { publish:"foo" }, allowed_connection_types: ["WEBSOCKET"]}
  ]
}
"#,
    ));
    // The certificate maps to a user that may only come over websocket.
    let r = connect(
        srv.addr,
        &ca().client_cert(
            cert("client-id-auth-cert.pem"),
            cert("client-id-auth-key.pem"),
        ),
    );
    assert!(r.is_err(), "Expected connection to fail, it did not");
}

/// Waits for `n` asynchronous errors on `nc` (2 s each, as the Go tests wait).
fn expect_errors(nc: &mut NatsConn, n: usize) {
    for i in 0..n {
        let e = nc.next_err(Duration::from_secs(2));
        assert!(e.is_some(), "Timed out expecting auth errors ({i} of {n})");
    }
}

fn expect_no_error(nc: &mut NatsConn) {
    if let Some(e) = nc.next_err(Duration::from_millis(100)) {
        panic!("Received unexpected auth error from client: {e}");
    }
}

port!("test/tls_test.go::TestTLSClientCertificateCNBasedAuth" => tls_client_certificate_cn_based_auth);
fn tls_client_certificate_cn_based_auth() {
    let (srv, _) = run_server_with_config(conf(
        r#"
listen: 127.0.0.1:-1
tls {
  cert_file = "./configs/certs/tlsauth/server.pem"
  key_file = "./configs/certs/tlsauth/server-key.pem"
  ca_file = "./configs/certs/tlsauth/ca.pem"
  verify = true
  verify_and_map = true
}
authorization {
  permissions {
    publish { allow = ["public.>"] }
    subscribe { allow = ["public.>"] }
  }
  users [
    { user = "CN=example.com,OU=NATS.io" }
    { user = "CN=example.com,OU=CNCF", permissions = {
        publish { allow = [">"] }
        subscribe { allow = [">"] }
      }
    }
  ]
}
"#,
    ));
    let o = ClientOptions::default().root_ca(cert("tlsauth/ca.pem"));
    // Default permissions.
    let mut nc1 = connect(
        srv.addr,
        &o.clone()
            .client_cert(cert("tlsauth/client.pem"), cert("tlsauth/client-key.pem")),
    )
    .unwrap_or_else(|e| panic!("Expected to connect, got {e}"));
    // Admin permissions: may publish to '>'.
    let mut nc2 = connect(
        srv.addr,
        &o.client_cert(cert("tlsauth/client2.pem"), cert("tlsauth/client2-key.pem")),
    )
    .unwrap_or_else(|e| panic!("Expected to connect, got {e}"));
    nc1.publish("foo.bar", b"hi");
    nc1.subscribe("foo.>", "1");
    let _ = nc1.flush();
    nc2.subscribe(">", "1");
    nc2.flush().unwrap();
    nc2.publish("hello", b"hi");
    nc2.flush().unwrap();
    assert!(
        nc2.next_msg(Duration::from_secs(1)).is_some(),
        "Error during wait for next message"
    );
    expect_errors(&mut nc1, 2);
    expect_no_error(&mut nc2);
}

const SAN_PERMS: &str = r#"
  permissions {
    publish { allow = ["public.>"] }
    subscribe { allow = ["public.>"] }
  }
"#;

/// The three clients of the SAN tests and what they do (the same in both Go tests):
/// `defaultc` and `devc` each end up with permission errors (three in all), `prodc` none.
fn san_clients_exchange(
    addr: std::net::SocketAddr,
    default_pair: (&str, &str),
    dev_pair: (&str, &str),
) {
    let o = ClientOptions::default().root_ca(cert("sans/ca.pem"));
    let mut defaultc = connect(
        addr,
        &o.clone()
            .client_cert(cert(default_pair.0), cert(default_pair.1)),
    )
    .unwrap_or_else(|e| panic!("Expected to connect, got {e}"));
    let mut devc = connect(
        addr,
        &o.clone().client_cert(cert(dev_pair.0), cert(dev_pair.1)),
    )
    .unwrap_or_else(|e| panic!("Expected to connect, got {e}"));
    let mut prodc = connect(
        addr,
        &o.client_cert(cert("sans/prod.pem"), cert("sans/prod-key.pem")),
    )
    .unwrap_or_else(|e| panic!("Expected to connect, got {e}"));

    // No permissions to publish or subscribe on foo.>
    devc.publish("foo.bar", b"hi");
    devc.subscribe("foo.>", "1");
    let _ = devc.flush();

    prodc.subscribe(">", "1");
    prodc.flush().unwrap();
    prodc.publish("hello", b"hi");
    prodc.flush().unwrap();
    let m = prodc.next_msg(Duration::from_secs(1));
    assert!(m.is_some(), "Error during wait for next message");

    // dev may use its sandbox.
    devc.subscribe("sandbox.>", "2");
    devc.flush().unwrap();
    devc.publish("sandbox.foo.bar", b"hi!");
    let m = devc.next_msg(Duration::from_secs(1));
    assert_eq!(m.map(|m| m.subject), Some("sandbox.foo.bar".to_string()));
    let m = prodc.next_msg(Duration::from_secs(1));
    assert_eq!(m.map(|m| m.subject), Some("sandbox.foo.bar".to_string()));

    // default: not enough permissions for the sandbox.
    defaultc.subscribe("sandbox.>", "1");
    defaultc.subscribe("public.>", "2");
    let _ = defaultc.flush();
    devc.publish("public.foo.bar", b"hi!");
    let m = defaultc.next_msg(Duration::from_secs(1));
    assert_eq!(m.map(|m| m.subject), Some("public.foo.bar".to_string()));

    // Three errors between default and dev, none for prod.
    let mut count = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while count < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "Timed out expecting auth errors"
        );
        if defaultc.next_err(Duration::from_millis(50)).is_some() {
            count += 1;
        }
        if devc.next_err(Duration::from_millis(50)).is_some() {
            count += 1;
        }
    }
    expect_no_error(&mut prodc);
}

port!("test/tls_test.go::TestTLSClientCertificateSANsBasedAuth" => tls_client_certificate_sans_based_auth);
fn tls_client_certificate_sans_based_auth() {
    let (srv, _) = run_server_with_config(conf(&format!(
        r#"
listen: 127.0.0.1:-1
tls {{
  cert_file = "./configs/certs/sans/server.pem"
  key_file = "./configs/certs/sans/server-key.pem"
  ca_file = "./configs/certs/sans/ca.pem"
  verify = true
  verify_and_map = true
}}
authorization {{
  {SAN_PERMS}
  users [
    {{ user = "CN=www.nats.io" }}
    {{ user = "app.nats.prod", permissions = {{
        publish {{ allow = [">"] }}
        subscribe {{ allow = [">"] }}
      }}
    }}
    {{ user = "app.nats.dev", permissions = {{
        publish {{ allow = ["public.>", "sandbox.>"] }}
        subscribe {{ allow = ["public.>", "sandbox.>"] }}
      }}
    }}
  ]
}}
"#
    )));
    san_clients_exchange(
        srv.addr,
        ("sans/client.pem", "sans/client-key.pem"),
        ("sans/dev.pem", "sans/dev-key.pem"),
    );
}

port!("test/tls_test.go::TestTLSClientCertificateTLSAuthMultipleOptions" => tls_client_certificate_tls_auth_multiple_options);
fn tls_client_certificate_tls_auth_multiple_options() {
    let (srv, _) = run_server_with_config(conf(&format!(
        r#"
listen: 127.0.0.1:-1
tls {{
  cert_file = "./configs/certs/sans/server.pem"
  key_file = "./configs/certs/sans/server-key.pem"
  ca_file = "./configs/certs/sans/ca.pem"
  verify = true
  verify_and_map = true
}}
authorization {{
  {SAN_PERMS}
  users [
    {{ user = "CN=www.nats.io" }}
    {{ user = "*.app.nats.prod", permissions = {{
        publish {{ allow = [">"] }}
        subscribe {{ allow = [">"] }}
      }}
    }}
    {{ user = "root@app.nats.dev", permissions = {{
        publish {{ allow = ["public.>", "sandbox.>"] }}
        subscribe {{ allow = ["public.>", "sandbox.>"] }}
      }}
    }}
  ]
}}
"#
    )));
    // default: SANs that are not users, so the subject is used; dev: the e-mail SAN.
    san_clients_exchange(
        srv.addr,
        ("sans/dev.pem", "sans/dev-key.pem"),
        ("sans/dev-email.pem", "sans/dev-email-key.pem"),
    );
}

port!("test/tls_test.go::TestTLSClientCertificateNoSubjectWithSANAuth" => tls_client_certificate_no_subject_with_san_auth);
fn tls_client_certificate_no_subject_with_san_auth() {
    // An Ed25519 certificate with an empty subject and a DNS SAN (made by gen.sh, as the
    // Go test makes its own at run time).
    let (srv, _) = run_server_with_config(conf(
        r#"
listen: "127.0.0.1:-1"
tls {
  cert_file: "./configs/certs/nosubj/server-cert.pem"
  key_file:  "./configs/certs/nosubj/server-key.pem"
  ca_file:   "./configs/certs/nosubj/ca.pem"
  verify_and_map: true
}
authorization {
  users = [
    { user: "localhost" }
  ]
}
"#,
    ));
    let o = ClientOptions::default().root_ca(cert("nosubj/ca.pem"));
    let nc = connect(
        srv.addr,
        &o.clone().client_cert(
            cert("nosubj/client-nosubj-cert.pem"),
            cert("nosubj/client-nosubj-key.pem"),
        ),
    );
    assert!(
        nc.is_ok(),
        "Expected to connect with no-subject cert, got {:?}",
        nc.err()
    );
    assert!(
        connect(srv.addr, &o).is_err(),
        "Expected connection without client cert to fail, but it succeeded"
    );
}

port!("test/tls_test.go::TestTLSVerifyClientCertificate" => tls_verify_client_certificate);
fn tls_verify_client_certificate() {
    // verify without a CA file: the client's certificate is checked against the system's
    // roots, which do not know the test CA.
    let (srv, _) = run_server_with_config(conf(
        r#"
listen: 127.0.0.1:-1
tls {
  cert_file: "./configs/certs/server-cert.pem"
  key_file:  "./configs/certs/server-key.pem"
  timeout: 2
  verify:    true
}
"#,
    ));
    let r = connect(
        srv.addr,
        &ca().client_cert(cert("client-cert.pem"), cert("client-key.pem")),
    );
    assert!(r.is_err(), "Expected failure to connect, did not");
}

port!("test/tls_test.go::TestTLSConnectionTimeout" => tls_connection_timeout);
fn tls_connection_timeout() {
    let mut opts = load_config(conf(TLS_CONF));
    opts.tls_timeout = Duration::from_millis(250);
    let srv = run_server(opts.clone());
    let conn = TcpStream::connect(srv.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut br = BufReader::new(conn);
    let mut info = String::new();
    br.read_line(&mut info)
        .unwrap_or_else(|e| panic!("Failed to read INFO - {e}"));
    assert!(info.starts_with("INFO "), "INFO response incorrect: {info}");
    std::thread::sleep(opts.tls_timeout);
    br.get_ref()
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut tls_err = String::new();
    let r = br.read_line(&mut tls_err);
    if matches!(r, Ok(n) if n > 0) {
        assert!(
            tls_err.contains("-ERR 'Secure Connection - TLS Required"),
            "TLS Timeout response incorrect: {tls_err:?}"
        );
    }
}

port!("test/tls_test.go::TestTLSAuthorizationShortTimeout" => tls_authorization_short_timeout);
fn tls_authorization_short_timeout() {
    let mut opts = load_config(conf(TLS_CONF));
    opts.auth_timeout = Duration::from_millis(1);
    let srv = run_server(opts);
    // An error is expected (no CA), but not a corrupted handshake, which would mean the
    // authorization timeout fired during the handshake.
    let err = connect(srv.addr, &ClientOptions::default().user("derek", "monkey"))
        .err()
        .expect("Expected error trying to connect to secure server");
    assert!(
        !err.contains("oversized record") && !err.contains("corrupt"),
        "Corrupted TLS handshake: {err}"
    );
    assert!(err.contains("tls handshake"), "{err}");
}

port!("test/tls_test.go::TestClientTLSAndNonTLSConnections" => client_tls_and_non_tls_connections);
fn client_tls_and_non_tls_connections() {
    let (srv, _) = run_server_with_config(conf(
        r#"
listen: 127.0.0.1:-1
tls {
  cert_file: "./configs/certs/server-cert.pem"
  key_file:  "./configs/certs/server-key.pem"
  timeout: 2
}
allow_non_tls: true
"#,
    ));
    let mut nc =
        connect(srv.addr, &ca()).unwrap_or_else(|e| panic!("Failed to connect with TLS: {e}"));
    assert!(nc.tls.is_some());
    let mut nc2 = connect(srv.addr, &ClientOptions::default().plain())
        .unwrap_or_else(|e| panic!("Failed to connect without TLS: {e}"));
    assert!(nc2.tls.is_none());
    nc.subscribe("foo", "1");
    nc2.subscribe("bar", "1");
    nc.flush().unwrap();
    nc2.flush().unwrap();
    let nmsgs = 100;
    for _ in 0..nmsgs {
        nc2.publish("foo", b"HELLO FROM PLAINTEXT");
        nc.publish("bar", b"HELLO FROM TLS");
    }
    check_for(Duration::from_secs(1), Duration::from_millis(10), || {
        let (a, b) = (nc.pending_msgs_after_read(), nc2.pending_msgs_after_read());
        if a != nmsgs || b != nmsgs {
            return Err(format!(
                "Did not receive the correct number of messages: {a} {b}"
            ));
        }
        Ok(())
    });
}

port!("test/tls_test.go::TestTLSStressConnect" => tls_stress_connect);
fn tls_stress_connect() {
    let mut opts = load_config(conf(TLS_CONF));
    opts.username.clear();
    opts.password.clear();
    opts.tls_timeout = Duration::from_secs(2);
    let srv = run_server(opts);
    let addr = srv.addr;
    let threads: Vec<_> = (0..3)
        .map(|index| {
            std::thread::spawn(move || -> Result<(), String> {
                let sub = format!("foo.{index}");
                for _ in 0..33 {
                    let mut nc = connect(addr, &ca())
                        .map_err(|e| format!("Unable to create TLS connection: {e}"))?;
                    nc.subscribe(&sub, "1");
                    nc.publish(&sub, b"secure data");
                    nc.next_msg(Duration::from_secs(2))
                        .ok_or_else(|| "Unable to get next message".to_string())?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
}

port!("test/tls_test.go::TestTLSBadAuthError" => tls_bad_auth_error);
fn tls_bad_auth_error() {
    let (srv, _) = run_server_with_config(conf(TLS_CONF));
    let err = connect(srv.addr, &ca().user("derek", "NOT_THE_PASSWORD"))
        .err()
        .expect("Expected error trying to connect to secure server");
    assert_eq!(
        err.to_lowercase(),
        "nats: authorization violation",
        "Expected and auth violation, got {err}"
    );
}

port!("test/tls_test.go::TestTLSConnectionCurvePref" => tls_connection_curve_pref);
fn tls_connection_curve_pref() {
    let (srv, opts) = run_server_with_config(conf(
        r#"
listen: 127.0.0.1:-1
tls {
  cert_file: "./configs/certs/server-cert.pem"
  key_file:  "./configs/certs/server-key.pem"
  timeout: 2
  curve_preferences: [
    "CurveP256"
  ]
}
authorization {
  user:     derek
  password: boo
  timeout:  1
}
"#,
    ));
    let tc = opts.tls_config.as_ref().unwrap();
    assert_eq!(
        tc.curves,
        vec![natsd::tls::Curve::P256],
        "Invalid curve preference loaded."
    );
    assert!(
        connect(srv.addr, &ClientOptions::default().user("derek", "boo")).is_err(),
        "Expected error trying to connect to secure server"
    );
    assert!(
        connect(srv.addr, &ClientOptions::default()).is_err(),
        "Expected error trying to connect to secure server with no auth"
    );
    let mut nc = connect(srv.addr, &ca().user("derek", "boo"))
        .unwrap_or_else(|e| panic!("Got an error on Connect with Secure Options: {e}"));
    nc.subscribe("foo-tls", "1");
    nc.publish("foo-tls", b"We are Secure!");
    nc.flush().unwrap();
    assert_eq!(
        nc.pending_msgs(),
        1,
        "Expected to receive a message over the TLS connection"
    );
    // The handshake used the only curve offered: a client without P-256 fails.
    let mut x25519_only = ca().user("derek", "boo");
    x25519_only.kx_groups = Some(vec![rustls::crypto::ring::kx_group::X25519]);
    assert!(connect(srv.addr, &x25519_only).is_err());
}

/// One case of the distinguished-name tests: users of the config, the client's
/// certificate, whether connecting fails (with the Go client's error text) and whether
/// the request on its own subscription gets no answer.
struct RdnCase {
    name: &'static str,
    users: &'static str,
    cert: &'static str,
    err: Option<&'static str>,
    no_reply: bool,
}

fn run_map_cases(dir: &str, server: (&str, &str), insecure: bool, cases: &[RdnCase]) {
    for c in cases {
        let tls = format!(
            r#"
tls {{
  cert_file: "configs/certs/{dir}/{}"
  key_file: "configs/certs/{dir}/{}"
  ca_file: "configs/certs/{dir}/ca.pem"
  timeout: 5
  {}
  verify_and_map: true
}}
"#,
            server.0,
            server.1,
            if insecure { "insecure: true" } else { "" }
        );
        let text = format!(
            "listen: 127.0.0.1:-1\n{tls}\nauthorization {{\n users = [\n{}\n ]\n}}\n",
            c.users
        );
        let (srv, _) = run_server_with_config(conf(&text));
        let o = ClientOptions::default()
            .root_ca(cert(&format!("{dir}/ca.pem")))
            .client_cert(
                cert(&format!("{dir}/{}.pem", c.cert)),
                cert(&format!("{dir}/{}.key", c.cert)),
            );
        let r = connect(srv.addr, &o);
        match (c.err, r) {
            (None, Err(e)) => panic!("{}: Expected to connect, got {e}", c.name),
            (Some(_), Ok(_)) => panic!("{}: Expected error on connect", c.name),
            (Some(want), Err(e)) => {
                assert_eq!(e, want, "{}: Expected error {want}, got: {e}", c.name);
            }
            (None, Ok(mut nc)) => {
                let answered = nc.self_request("ping", Duration::from_millis(250));
                if c.no_reply {
                    assert!(!answered, "{}: Expected error getting response", c.name);
                } else {
                    assert!(answered, "{}: Expected response", c.name);
                }
            }
        }
    }
}

const AUTH_VIOLATION: &str = "nats: Authorization Violation";

port!("test/tls_test.go::TestTLSClientAuthWithRDNSequence" => tls_client_auth_with_rdn_sequence);
fn tls_client_auth_with_rdn_sequence() {
    let cases = [
        RdnCase {
            name: "connect with tls using full RDN sequence",
            users: r#"{ user = "CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US,DC=foo1,DC=foo2" }"#,
            cert: "client-a",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls using full RDN sequence in original order",
            users: r#"{ user = "DC=foo2,DC=foo1,CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US" }"#,
            cert: "client-a",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls using partial RDN sequence has different permissions",
            users: r#"{ user = "DC=foo2,DC=foo1,CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US" },
                { user = "CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US,DC=foo1,DC=foo2" },
                { user = "CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US",
                  permissions = { subscribe = { deny = ">" }} }"#,
            cert: "client-b",
            err: None,
            no_reply: true,
        },
        RdnCase {
            name: "connect with tls and RDN sequence partially matches",
            users: r#"{ user = "DC=foo2,DC=foo1,CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US" }
                { user = "CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US,DC=foo1,DC=foo2" }
                { user = "CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US"},"#,
            cert: "client-c",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and RDN sequence does not match",
            users: r#"{ user = "CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US,DC=foo1,DC=foo2" },
                { user = "DC=foo2,DC=foo1,CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US" }"#,
            cert: "client-c",
            err: Some(AUTH_VIOLATION),
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and RDN sequence with space after comma not should matter",
            users: r#"{ user = "DC=foo2, DC=foo1, CN=localhost, OU=NATS, O=NATS, L=Los Angeles, ST=CA, C=US" }"#,
            cert: "client-a",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and full RDN sequence respects order",
            users: r#"{ user = "DC=com, DC=example, CN=*.example.com, O=NATS, OU=NATS, L=Los Angeles, ST=CA, C=US" }"#,
            cert: "client-d",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and full RDN sequence with added domainComponents and spaces also matches",
            users: r#"{ user = "CN=*.example.com,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US,DC=example,DC=com" }"#,
            cert: "client-d",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and full RDN sequence with correct order takes precedence over others matches",
            users: r#"{ user = "CN=*.example.com,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US,DC=example,DC=com",
                  permissions = { subscribe = { deny = ">" }} }
                { user = "DC=com,DC=example,CN=*.example.com,O=NATS,OU=NATS,L=Los Angeles,ST=CA,C=US" }
                { user = "CN=*.example.com,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US",
                  permissions = { subscribe = { deny = ">" }} }"#,
            cert: "client-d",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and RDN includes multiple CN elements",
            users: r#"{ user = "DC=com,DC=acme,OU=Organic Units,OU=Users,CN=jdoe,CN=123456,CN=John Doe" }"#,
            cert: "client-e",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and DN includes a multi value RDN",
            users: r#"{ user = "CN=John Doe,DC=DEV+O=users,DC=OpenSSL,DC=org" }"#,
            cert: "client-f",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and DN includes a multi value RDN but there is no match",
            users: r#"{ user = "CN=John Doe,DC=DEV,DC=OpenSSL,DC=org" }"#,
            cert: "client-f",
            err: Some(AUTH_VIOLATION),
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and DN includes a multi value RDN that are reordered",
            users: r#"{ user = "CN=John Doe,O=users+DC=DEV,DC=OpenSSL,DC=org" }"#,
            cert: "client-f",
            err: None,
            no_reply: false,
        },
    ];
    run_map_cases("rdns", ("server.pem", "server.key"), false, &cases);
}

port!("test/tls_test.go::TestTLSClientAuthWithRDNSequenceReordered" => tls_client_auth_with_rdn_sequence_reordered);
fn tls_client_auth_with_rdn_sequence_reordered() {
    let cases = [
        RdnCase {
            name: "connect with tls and DN includes a multi value RDN that are reordered",
            users: r#"{ user = "DC=org,DC=OpenSSL,O=users+DC=DEV,CN=John Doe" }"#,
            cert: "client-f",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and DN includes a multi value RDN that are reordered but not equal RDNs",
            users: r#"{ user = "DC=org,DC=OpenSSL,O=users,CN=John Doe" }"#,
            cert: "client-f",
            err: Some(AUTH_VIOLATION),
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls and DN includes a multi value RDN that are reordered but not equal RDNs (spaces)",
            users: r#"{ user = "DC=OpenSSL, DC=org, O=users, CN=John Doe" }"#,
            cert: "client-f",
            err: Some(AUTH_VIOLATION),
            no_reply: false,
        },
    ];
    run_map_cases("rdns", ("server.pem", "server.key"), false, &cases);
}

port!("test/tls_test.go::TestTLSClientSVIDAuth" => tls_client_svid_auth);
fn tls_client_svid_auth() {
    let cases = [
        RdnCase {
            name: "connect with tls using certificate with URIs",
            users: r#"{ user = "spiffe://localhost/my-nats-service/user-a" }"#,
            cert: "client-a",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls using certificate with limited different permissions",
            users: r#"{ user = "spiffe://localhost/my-nats-service/user-a" },
                { user = "spiffe://localhost/my-nats-service/user-b"
                  permissions = { subscribe = { deny = ">" }} }"#,
            cert: "client-b",
            err: None,
            no_reply: true,
        },
        RdnCase {
            name: "connect with tls without URIs in permissions will still match SAN",
            users: r#"{ user = "O=SPIRE,C=US" }"#,
            cert: "client-b",
            err: None,
            no_reply: false,
        },
        RdnCase {
            name: "connect with tls but no permissions",
            users: r#"{ user = "spiffe://localhost/my-nats-service/user-c" }"#,
            cert: "client-a",
            err: Some(AUTH_VIOLATION),
            no_reply: false,
        },
    ];
    run_map_cases("svid", ("server.pem", "server.key"), true, &cases);
}

port!("test/tls_test.go::TestTLSConnectionRate" => tls_connection_rate);
fn tls_connection_rate() {
    let (srv, _) = run_server_with_config(conf(
        r#"
listen: "127.0.0.1:-1"
tls {
  cert_file: "./configs/certs/server-cert.pem"
  key_file:  "./configs/certs/server-key.pem"
  connection_rate_limit: 3
}
"#,
    ));
    let cap = std::sync::Arc::new(natsd::logging::CaptureLogger::retaining());
    srv.shared()
        .logging
        .set_logger(Some(cap.clone()), false, false);
    let mut count = 0;
    let mut last_err = None;
    while count < 10 {
        match connect(srv.addr, &ca()) {
            Ok(nc) => drop(nc),
            Err(e) => {
                last_err = Some(e);
                break;
            }
        }
        count += 1;
    }
    assert_eq!(
        count, 3,
        "Expected 3 connections per second, got {count} ({last_err:?})"
    );
    // The warning comes from a once-a-second task.
    check_for(
        Duration::from_millis(1500),
        Duration::from_millis(20),
        || {
            if cap
                .containing("connections due to TLS rate limiting")
                .is_empty()
            {
                return Err("did not log 'TLS rate limiting' warning".into());
            }
            Ok(())
        },
    );
}

/// Rewrites `path` and reloads the server from it (Go's `os.WriteFile` + `s.Reload()`).
fn reload_with(
    srv: &natsd::server::BackgroundServer,
    path: &std::path::Path,
    text: &str,
) -> Result<(), String> {
    let text = text
        .replace("./configs/certs/", &format!("{}/", certs()))
        .replace("configs/certs/", &format!("{}/", certs()));
    std::fs::write(path, text).unwrap();
    natsd::reload::reload(srv.shared()).map_err(|e| e.to_string())
}

port!("test/tls_test.go::TestAllowNonTLSReload" => allow_non_tls_reload);
fn allow_non_tls_reload() {
    let tmpl = r#"
        listen: "127.0.0.1:-1"
        ping_interval: "%s"
        tls {
            ca_file: "configs/certs/ca.pem"
            cert_file: "configs/certs/server-cert.pem"
            key_file: "configs/certs/server-key.pem"
        }
        allow_non_tls: true
    "#;
    let path = conf(&tmpl.replace("%s", "10s"));
    let (s, _) = run_server_with_config(&path);
    let check = || {
        let mut nc = ported::support::RawConn::connect(s.addr);
        let info = nc.check_info();
        assert_eq!(
            info["tls_available"], true,
            "TLSAvailable should be true, was false"
        );
        assert!(
            info.get("tls_required").is_none() || info["tls_required"] == false,
            "TLSRequired should be false, was true"
        );
    };
    check();
    reload_with(&s, &path, &tmpl.replace("%s", "20s"))
        .unwrap_or_else(|e| panic!("Error on reload: {e}"));
    check();
}

port!("test/tls_test.go::TestTLSPinnedCertsClient" => tls_pinned_certs_client);
fn tls_pinned_certs_client() {
    let tmpl = r#"
        host: 127.0.0.1
        port: -1
        tls {
            ca_file: "configs/certs/ca.pem"
            cert_file: "configs/certs/server-cert.pem"
            key_file: "configs/certs/server-key.pem"
            # Require a client certificate and map user id from certificate
            verify: true
            pinned_certs: ["%s"]
        }
    "#;
    let bad = "aaaaaaaa09fde09451411ba3b42c0f74727d61a974c69fd3cf5257f39c75f0e9";
    let path = conf(&tmpl.replace("%s", bad));
    let (srv, o) = run_server_with_config(&path);
    assert_eq!(
        o.tls_pinned_certs.as_ref().map(|p| p.len()),
        Some(1),
        "expected one pinned cert"
    );
    let opts = ca().client_cert(cert("client-cert.pem"), cert("client-key.pem"));
    assert!(
        connect(srv.addr, &opts).is_err(),
        "Expected error trying to connect without a certificate in pinned_certs"
    );
    // The key id of natsd's client certificate (Go's test hard-codes its own).
    let pem = std::fs::read(cert("client-cert.pem")).unwrap();
    let der = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .unwrap()
        .unwrap();
    let good = natsd::tls::x509::parse_certificate(&der)
        .unwrap()
        .spki_sha256;
    reload_with(&srv, &path, &tmpl.replace("%s", &good))
        .unwrap_or_else(|e| panic!("on Reload got {e}"));
    connect(srv.addr, &opts).unwrap_or_else(|e| panic!("Expected no error, got: {e}"));
}
