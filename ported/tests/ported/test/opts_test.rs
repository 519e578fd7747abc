//! Ports of test/opts_test.go.
#![allow(clippy::unwrap_used)] // tests fail by panicking

use ported::port;
use ported::support::{create_conf_file, run_server_with_config, RawConn};
use ported::tls_client::test_cert;

port!("test/opts_test.go::TestTLSConfig" => tls_config);
fn tls_config() {
    // configs/tls.conf with natsd's certificates, on a random port.
    let conf = create_conf_file(
        format!(
            r#"
listen: 127.0.0.1:-1
tls {{
  cert_file: "{}"
  key_file:  "{}"
  timeout: 2
}}
authorization {{
  user:     derek
  password: monkey
  timeout:  1
}}
"#,
            test_cert("server-cert.pem"),
            test_cert("server-key.pem")
        )
        .as_bytes(),
    );
    let (srv, _) = run_server_with_config(conf);
    let mut c = RawConn::connect(srv.addr);
    let info = c.check_info();
    assert_eq!(
        info["tls_required"], true,
        "Expected TLSRequired to be true when configured"
    );
}

port!("test/opts_test.go::TestServerConfig" => server_config);
fn server_config() {
    // configs/override.conf on a random port.
    let conf = create_conf_file(b"listen: 127.0.0.1:-1\n\n# maximum payload\nmax_payload: 2222\n");
    let (srv, opts) = run_server_with_config(conf);
    assert_eq!(opts.max_payload, 2222);
    let mut c = RawConn::connect(srv.addr);
    let info = c.check_info();
    assert_eq!(
        info["max_payload"].as_i64(),
        Some(i64::from(opts.max_payload)),
        "Expected max_payload from server, got {} vs {}",
        opts.max_payload,
        info["max_payload"]
    );
}
