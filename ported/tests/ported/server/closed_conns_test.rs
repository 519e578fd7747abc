//! Ports of server/closed_conns_test.go (the TLS one; the others stay with the
//! monitoring ports).
#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::closed::ClosedState;
use ported::port;
use ported::support::{check_for, create_conf_file, load_config, run_server};
use ported::tls_client::{connect, test_cert, ClientOptions};
use std::time::Duration;

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
