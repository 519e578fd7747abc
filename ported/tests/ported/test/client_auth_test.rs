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

/// Ports that need accounts.
mod account_ports {
    use super::*;

    port!("test/client_auth_test.go::TestClientConnectInfo" => client_connect_info);
    fn client_connect_info() {
        // Go's ClientProtoZero and ClientProtoInfo.
        const PROTO_ZERO: u8 = 0;
        const PROTO_INFO: u8 = 1;
        for (name, sys, has_sys, protocol) in [
            (
                "async info support with explicit system account",
                "system_account: SYS",
                true,
                PROTO_INFO,
            ),
            (
                "async info support without explicit system account",
                "",
                false,
                PROTO_INFO,
            ),
            (
                "no async info support with explicit system account",
                "system_account: SYS",
                true,
                PROTO_ZERO,
            ),
            (
                "no async info support without explicit system account",
                "",
                false,
                PROTO_ZERO,
            ),
        ] {
            let (s, _) = run_server_with_config(create_conf_file(
                format!(
                    r#"
                    port: -1
                    {sys}
                    accounts {{
                        SYS: {{ users: [{{ user: sys, password: pwd}}] }}
                        A:   {{ users: [{{ user: a, password: pwd}}] }}
                        B:   {{ users: [{{ user: b, password: pwd}}] }}
                    }}
                    "#
                )
                .as_bytes(),
            ));
            let check_info_on_connect = |user: &str, acc: &str, is_sys: bool| {
                let mut cc = RawConn::connect(s.addr);
                cc.check_info();
                cc.send(&format!(
                    "CONNECT {{\"user\":{user:?},\"pass\":\"pwd\",\"pedantic\":false,\"verbose\":false,\"protocol\":{protocol}}}\r\nPING\r\n"
                ));
                // The PONG comes alone, first.
                cc.expect(&re::PONG);
                if protocol < PROTO_INFO {
                    cc.expect_nothing();
                } else {
                    let info = cc.check_info();
                    assert_eq!(
                        info["connect_info"].as_bool(),
                        Some(true),
                        "{name}: Expected ConnectInfo to be true"
                    );
                    assert_eq!(
                        info["remote_account"].as_str().unwrap_or_default(),
                        acc,
                        "{name}: Expected account {acc:?}"
                    );
                    assert_eq!(
                        info["acc_is_sys"].as_bool().unwrap_or(false),
                        is_sys,
                        "{name}: Expected IsSystemAccount to be {is_sys}"
                    );
                }
            };
            check_info_on_connect("a", "A", false);
            check_info_on_connect("sys", "SYS", has_sys);
            check_info_on_connect("b", "B", false);
        }
    }
}
