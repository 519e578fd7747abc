//! Ports of `server/auth_test.go` that need only users and permissions (no accounts, TLS,
//! proxies or callouts): copies of a user are equal and independent.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::auth::{Permissions, SubjectPermission, User};
use ported::port;

port!("server/auth_test.go::TestUserCloneNilPermissions" => user_clone_nil_permissions);
fn user_clone_nil_permissions() {
    let user = User {
        username: "foo".into(),
        password: "bar".into(),
        permissions: None,
        account: String::new(),
        ..Default::default()
    };
    let mut clone = user.clone();
    assert_eq!(user, clone, "Cloned Users are incorrect");
    clone.password = "baz".into();
    assert_ne!(user, clone, "Expected Users to be different");
}

port!("server/auth_test.go::TestUserClone" => user_clone);
fn user_clone() {
    let user = User {
        username: "foo".into(),
        password: "bar".into(),
        permissions: Some(Permissions {
            publish: Some(SubjectPermission {
                allow: Some(vec!["foo".into()]),
                deny: None,
            }),
            subscribe: Some(SubjectPermission {
                allow: Some(vec!["bar".into()]),
                deny: None,
            }),
            response: None,
        }),
        account: String::new(),
        ..Default::default()
    };
    let mut clone = user.clone();
    assert_eq!(user, clone, "Cloned Users are incorrect");
    clone
        .permissions
        .as_mut()
        .unwrap()
        .subscribe
        .as_mut()
        .unwrap()
        .allow = Some(vec!["baz".into()]);
    assert_ne!(user, clone, "Expected Users to be different");
}

port!("server/auth_test.go::TestUserClonePermissionsNoLists" => user_clone_permissions_no_lists);
fn user_clone_permissions_no_lists() {
    let user = User {
        username: "foo".into(),
        password: "bar".into(),
        permissions: Some(Permissions::default()),
        account: String::new(),
        ..Default::default()
    };
    let clone = user.clone();
    let p = clone.permissions.as_ref().unwrap();
    assert!(
        p.publish.is_none(),
        "Expected Publish to be nil, got: {:?}",
        p.publish
    );
    assert!(
        p.subscribe.is_none(),
        "Expected Subscribe to be nil, got: {:?}",
        p.subscribe
    );
}

port!("server/auth_test.go::TestUserCloneNoPermissions" => user_clone_no_permissions);
fn user_clone_no_permissions() {
    let user = User {
        username: "foo".into(),
        password: "bar".into(),
        permissions: None,
        account: String::new(),
        ..Default::default()
    };
    let clone = user.clone();
    assert!(
        clone.permissions.is_none(),
        "Expected Permissions to be nil, got: {:?}",
        clone.permissions
    );
}

port!("server/auth_test.go::TestUserUnknownAllowedConnectionType" => user_unknown_allowed_connection_type);
fn user_unknown_allowed_connection_type() {
    use natsd::auth::NkeyUser;
    use ported::support::default_test_options;
    let types = |names: &[&str]| -> std::collections::BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    };
    let mut o = default_test_options();
    o.users = vec![User {
        username: "user".into(),
        password: "pwd".into(),
        allowed_connection_types: types(&["STANDARD", "someNewType"]),
        ..Default::default()
    }];
    let err = natsd::server::Server::new(o.clone())
        .expect_err("Expected error about unknown connection type");
    assert!(
        err.to_string().contains("connection type"),
        "Expected error about unknown connection type, got {err}"
    );
    o.users[0].allowed_connection_types = types(&["websocket"]);
    let s = natsd::server::Server::new(o.clone()).unwrap();
    for act in &s.shared().opts().users[0].allowed_connection_types {
        assert_eq!(
            act, "WEBSOCKET",
            "Expected map to have been updated with proper case, got {act}"
        );
    }
    // Same with an nkey user now.
    o.users.clear();
    o.nkeys = vec![NkeyUser {
        nkey: "somekey".into(),
        allowed_connection_types: types(&["STANDARD", "someNewType"]),
        ..Default::default()
    }];
    let err = natsd::server::Server::new(o.clone())
        .expect_err("Expected error about unknown connection type");
    assert!(
        err.to_string().contains("connection type"),
        "Expected error about unknown connection type, got {err}"
    );
    o.nkeys[0].allowed_connection_types = types(&["websocket"]);
    let s = natsd::server::Server::new(o).unwrap();
    for act in &s.shared().opts().nkeys[0].allowed_connection_types {
        assert_eq!(
            act, "WEBSOCKET",
            "Expected map to have been updated with proper case, got {act}"
        );
    }
}

port!("server/auth_test.go::TestUserCloneNil" => user_clone_nil);
fn user_clone_nil() {
    let user: Option<User> = None;
    let clone = user.clone();
    assert!(clone.is_none(), "Expected nil, got: {clone:?}");
}

/// Ports that need accounts: `no_auth_user` naming a user of an account.
mod account_ports {
    use ported::port;
    use ported::support::{check_for, create_conf_file, re, run_server_with_config, RawConn};
    use std::time::Duration;

    fn wait_clients(s: &natsd::server::BackgroundServer, n: usize) {
        check_for(Duration::from_secs(2), Duration::from_millis(10), || {
            let got = s.shared().num_clients();
            if got == n {
                Ok(())
            } else {
                Err(format!("Expected {n} clients, got {got}"))
            }
        });
    }

    port!("server/auth_test.go::TestNoAuthUser" => no_auth_user);
    fn no_auth_user() {
        let (s, _) = run_server_with_config(create_conf_file(
            br#"
            listen: "127.0.0.1:-1"
            accounts {
                FOO { users [{user: "foo", password: "pwd1"}] }
                BAR { users [{user: "bar", password: "pwd2"}] }
            }
            no_auth_user: "foo"
            "#,
        ));
        // The CONNECT the Go client sends for each URL's user info: `user:pass@` gives
        // user and password, `name@` a token, `user:@` a user with an empty password
        // (left out of the JSON).
        for (name, creds, ok, account) in [
            (
                "valid user/pwd",
                r#""user":"bar","pass":"pwd2","#,
                true,
                "BAR",
            ),
            ("invalid pwd", r#""user":"bar","pass":"wrong","#, false, ""),
            ("some token", r#""auth_token":"sometoken","#, false, ""),
            ("user used without pwd", r#""auth_token":"bar","#, false, ""),
            ("user with empty password", r#""user":"bar","#, false, ""),
            ("no user", "", true, "FOO"),
        ] {
            let mut nc = RawConn::connect(s.addr);
            nc.check_info();
            nc.send(&format!("CONNECT {{{creds}\"verbose\":false}}\r\nPING\r\n"));
            if !ok {
                nc.expect_err("Authorization Violation");
                drop(nc);
                wait_clients(&s, 0);
                continue;
            }
            nc.expect(&re::PONG);
            let clients = s.shared().clients();
            assert_eq!(clients.len(), 1, "{name}");
            let acc_name = clients[0].account().map(|a| a.name.clone()).unwrap();
            drop(nc);
            wait_clients(&s, 0);
            assert_eq!(
                acc_name, account,
                "{name}: The account should have been {account:?}, got {acc_name:?}"
            );
        }
    }

    port!("server/auth_test.go::TestNoAuthUserNkey" => no_auth_user_nkey);
    fn no_auth_user_nkey() {
        let conf = create_conf_file(
            br#"
		listen: "127.0.0.1:-1"
		accounts {
			FOO { users [{user: "foo", password: "pwd1"}] }
			BAR { users [{nkey: "UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON"}] }
		}
		no_auth_user: "UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON"
	"#,
        );
        let (s, _) = run_server_with_config(conf);
        // Connects without credentials, and asks who it is ($SYS.REQ.USER.INFO).
        let mut c = RawConn::connect(s.addr);
        c.check_info();
        c.send("CONNECT {\"verbose\":false}\r\nSUB _INBOX.x 1\r\nPUB $SYS.REQ.USER.INFO _INBOX.x 0\r\n\r\n");
        let m = c.expect_msgs(1).remove(0);
        let resp: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
        assert!(resp.get("error").is_none(), "unexpected error: {resp}");
        assert_eq!(
            resp["data"]["user"],
            "UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON"
        );
        assert_eq!(resp["data"]["account"], "BAR");
    }

    port!("server/auth_test.go::TestNoAuthUserNoConnectProto" => no_auth_user_no_connect_proto);
    fn no_auth_user_no_connect_proto() {
        let (s, _) = run_server_with_config(create_conf_file(
            br#"
            listen: "127.0.0.1:-1"
            accounts {
                A { users [{user: "foo", password: "pwd"}] }
            }
            authorization { timeout: 1 }
            no_auth_user: "foo"
            "#,
        ));
        let check_clients = |n: usize| {
            std::thread::sleep(Duration::from_millis(100));
            assert_eq!(s.shared().num_clients(), n, "Expected {n} clients");
        };
        let mut conn = RawConn::connect(s.addr);
        wait_clients(&s, 1);
        // With a no_auth_user, a CONNECT is not required first.
        conn.send("PUB foo 2\r\nok\r\n");
        check_clients(1);
        drop(conn);

        // But a client that sends nothing still times out.
        let _conn = RawConn::connect(s.addr);
        wait_clients(&s, 1);
        std::thread::sleep(Duration::from_millis(1200));
        wait_clients(&s, 0);
    }
}

port!("server/auth_test.go::TestUserConnectionDeadline" => user_connection_deadline);
fn user_connection_deadline() {
    use super::server_test::{run_custom_auth_server, DummyAuth};
    use ported::support::{check_for, RawConn};
    use std::time::Duration;
    let deadline = std::time::SystemTime::now() + Duration::from_millis(50);
    let s = run_custom_auth_server(DummyAuth::new(false, Some(deadline)), false);
    let mut c = RawConn::connect(s.addr);
    c.check_info();
    c.send("CONNECT {\"verbose\":false,\"user\":\"valid\",\"pass\":\"\"}\r\nPING\r\n");
    // Expected client to connect.
    c.expect(&ported::support::re::PONG);
    // The deadline passes: the client is told (nats.go reports "authentication expired")
    // and disconnected.
    c.expect_err("User Authentication Expired");
    c.expect_disconnect();
    check_for(Duration::from_secs(2), Duration::from_millis(100), || {
        (s.shared().num_clients() == 0)
            .then_some(())
            .ok_or_else(|| "Expected to be disconnected".to_string())
    });
}
