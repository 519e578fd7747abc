//! Ports of `test/client_auth_test.go` that need only users and tokens from a config file.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use super::auth_test::expect_auth_required;
use ported::port;
use ported::support::{create_conf_file, re, run_server_with_config, RawConn};
use std::net::SocketAddr;

/// What `nats.Connect` does with credentials: INFO (which must require auth), CONNECT,
/// PING, and the connection is up once PONG comes back.
fn connect_with(addr: SocketAddr, fields: &str) {
    let mut c = RawConn::connect(addr);
    expect_auth_required(&mut c);
    c.send(&format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,{fields}}}\r\nPING\r\n"
    ));
    c.expect(&re::PONG);
}

port!("test/client_auth_test.go::TestMultipleUserAuth" => multiple_user_auth);
fn multiple_user_auth() {
    // Go's configs/multi_user.conf, on random ports.
    let conf = create_conf_file(
        br#"
listen: 127.0.0.1:-1
http: 127.0.0.1:-1

authorization {
    users = [
      {user: alice, password: foo}
      {user: bob,   password: bar}
    ]
}
"#,
    );
    let (srv, opts) = run_server_with_config(&conf);
    assert!(
        !opts.users.is_empty(),
        "Expected a user array that is not nil"
    );
    assert_eq!(
        opts.users.len(),
        2,
        "Expected a user array that had 2 users"
    );
    for u in &opts.users {
        connect_with(
            srv.addr,
            &format!("\"user\":\"{}\",\"pass\":\"{}\"", u.username, u.password),
        );
    }
}

// Resolves to "test"
const TEST_TOKEN: &str = "$2a$05$3sSWEVA1eMCbV0hWavDjXOx.ClBjI6u1CuUdLqf22cbJjXsnzz8/.";

port!("test/client_auth_test.go::TestTokenInConfig" => token_in_config);
fn token_in_config() {
    let content = format!(
        "
	listen: 127.0.0.1:-1
	authorization={{
		token: {TEST_TOKEN}
		timeout: 5
	}}"
    );
    let conf = create_conf_file(content.as_bytes());
    let (srv, _opts) = run_server_with_config(&conf);
    // `nats://test@host:port` sends the user info as the token.
    connect_with(srv.addr, "\"auth_token\":\"test\"");
}
