use super::*;
use std::time::Instant;

fn connect(json: &str) -> ConnectInfo {
    ConnectInfo::parse(json.as_bytes()).unwrap()
}

#[test]
fn token_and_single_user() {
    let o = Options {
        authorization: "tok".into(),
        ..Options::default()
    };
    assert!(auth_required(&o));
    assert!(authenticate(&o, &connect(r#"{"auth_token":"tok"}"#), None).is_some());
    assert!(authenticate(&o, &connect(r#"{"auth_token":"bad"}"#), None).is_none());
    let o = Options {
        username: "u".into(),
        password: "p".into(),
        ..Options::default()
    };
    assert!(authenticate(&o, &connect(r#"{"user":"u","pass":"p"}"#), None).is_some());
    assert!(authenticate(&o, &connect(r#"{"user":"u","pass":"x"}"#), None).is_none());
    assert!(authenticate(&o, &connect(r#"{}"#), None).is_none());
    assert!(!auth_required(&Options::default()));
}

#[test]
fn bcrypt_passwords() {
    let hash = "$2a$04$Q.CgCP2Sl9pkcTXEZHazaeMwPaAkSHk7AI51HkyMt5iJQQyUA4qxq";
    assert!(is_bcrypt(hash));
    assert!(!is_bcrypt("$2a$x"));
    assert!(compare_passwords(hash, "IW@$6v(y1(t@fhPDvf!5^%"));
    assert!(!compare_passwords(hash, hash));
}

#[test]
fn nkey_nonce_signature() {
    let kp = nkeys::KeyPair::new_user();
    let o = Options {
        nkeys: vec![NkeyUser {
            nkey: kp.public_key(),
            permissions: None,
            account: String::new(),
            ..Default::default()
        }],
        ..Options::default()
    };
    let nonce = new_nonce();
    let sig =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kp.sign(nonce.as_bytes()).unwrap());
    let good = connect(&format!(
        r#"{{"nkey":"{}","sig":"{sig}"}}"#,
        kp.public_key()
    ));
    assert!(authenticate(&o, &good, Some(&nonce)).is_some());
    assert!(authenticate(&o, &good, Some("other")).is_none());
    let nosig = connect(&format!(r#"{{"nkey":"{}"}}"#, kp.public_key()));
    assert!(authenticate(&o, &nosig, Some(&nonce)).is_none());
}

#[test]
fn permissions_allow_deny_queue_and_responses() {
    let p = Permissions {
        publish: Some(SubjectPermission {
            allow: Some(vec!["*.*".into()]),
            deny: Some(vec!["SYS.*".into(), "foo.*".into()]),
        }),
        subscribe: Some(SubjectPermission {
            allow: Some(vec!["foo.*".into(), "bar.> q1".into()]),
            deny: Some(vec!["foo.baz".into()]),
        }),
        response: None,
    };
    let c = ClientPerms::new(&p);
    let now = Instant::now();
    assert!(c.pub_allowed("baz.bar", now));
    assert!(!c.pub_allowed("foo.bar", now));
    assert!(!c.pub_allowed("foo", now));
    assert!(c.can_subscribe("foo.*", None));
    assert!(c.can_subscribe("foo.bar", None));
    assert!(!c.can_subscribe("foo.baz", None));
    assert!(!c.can_subscribe("foo.bar.baz", None));
    // As a sublist match: a wildcard token of the subject is matched like a literal one.
    assert!(c.can_subscribe("foo.>", None));
    assert!(c.can_subscribe("bar.x", Some("q1")));
    assert!(!c.can_subscribe("bar.x", Some("q2")));
    assert!(!c.can_subscribe("bar.x", None));
    assert!(c.delivery_denied("foo.baz", None));
    assert!(!c.delivery_denied("foo.bar", None));

    let r = ClientPerms::new(
        &Permissions {
            response: Some(ResponsePermission {
                max_msgs: 2,
                expires: Some(Duration::from_millis(50)),
            }),
            ..Permissions::default()
        }
        .normalized(),
    );
    assert!(!r.pub_allowed("_INBOX.1", now));
    r.track_reply("_INBOX.1", now);
    assert!(r.pub_allowed("_INBOX.1", now));
    assert!(r.pub_allowed("_INBOX.1", now));
    assert!(!r.pub_allowed("_INBOX.1", now));
    r.track_reply("_INBOX.2", now);
    assert!(!r.pub_allowed("_INBOX.2", now + Duration::from_millis(60)));
}

#[test]
fn authorization_block_from_config() {
    let mut o = Options::default();
    crate::config::file::apply_config_string(
        &mut o,
        r#"
        authorization {
          PASS: foo
          P = { publish = "a", subscribe = { allow = ["b"], deny = "c" } }
          default_permissions = { publish = "x.>" }
          users = [ {user: alice, password: $PASS, permissions: $P}, {user: joe, password: $PASS} ]
          timeout: 3
        }
        no_auth_user: joe
        "#,
    )
    .unwrap();
    assert_eq!(o.users.len(), 2);
    assert_eq!(o.auth_timeout, Duration::from_secs(3));
    assert_eq!(o.no_auth_user, "joe");
    let joe = &o.users[1];
    assert_eq!(joe.password, "foo");
    assert_eq!(
        joe.permissions
            .as_ref()
            .unwrap()
            .publish
            .as_ref()
            .unwrap()
            .allow,
        Some(vec!["x.>".to_string()])
    );
    let alice = o.users[0].permissions.as_ref().unwrap();
    assert_eq!(
        alice.subscribe.as_ref().unwrap().deny,
        Some(vec!["c".to_string()])
    );
}

#[test]
fn no_auth_user_connects_without_credentials() {
    let o = Options {
        users: vec![User {
            username: "foo".into(),
            password: "pwd".into(),
            permissions: None,
            account: String::new(),
            ..Default::default()
        }],
        no_auth_user: "foo".into(),
        ..Options::default()
    };
    assert_eq!(validate_no_auth_user(&o), Ok(()));
    assert!(authenticate(&o, &connect("{}"), None).is_some());
    // Credentials given are checked, not replaced by the no-auth user.
    assert!(authenticate(&o, &connect(r#"{"user":"foo","pass":"bad"}"#), None).is_none());
    assert!(authenticate(&o, &connect(r#"{"auth_token":"x"}"#), None).is_none());
    let bad = Options {
        no_auth_user: "bar".into(),
        ..o.clone()
    };
    assert_eq!(
        validate_no_auth_user(&bad).unwrap_err(),
        "no_auth_user: \"bar\" not present as user or nkey in authorization block or account configuration"
    );
    let none = Options {
        no_auth_user: "bar".into(),
        ..Options::default()
    };
    assert_eq!(
        validate_no_auth_user(&none).unwrap_err(),
        "no_auth_user: \"bar\" present, but users/nkeys are not defined"
    );
}

/// With `no_auth_user`, clients are told no credentials are needed, and one that sends
/// a PUB before any CONNECT is that user (Go's parser exception for telnet clients).
#[test]
fn no_auth_user_info_and_no_connect() {
    use std::io::{BufRead, BufReader, Write};
    let s = crate::server::BackgroundServer::start(Options {
        host: "127.0.0.1".into(),
        port: -1,
        no_log: true,
        no_sigs: true,
        users: vec![User {
            username: "foo".into(),
            password: "pwd".into(),
            permissions: None,
            account: String::new(),
            ..Default::default()
        }],
        no_auth_user: "foo".into(),
        ..Options::default()
    })
    .unwrap();
    let mut w = std::net::TcpStream::connect(s.addr).unwrap();
    w.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut r = BufReader::new(w.try_clone().unwrap());
    let mut info = String::new();
    r.read_line(&mut info).unwrap();
    let v: serde_json::Value = serde_json::from_str(&info[5..]).unwrap();
    assert_eq!(v.get("auth_required"), None, "{info}");
    assert!(s.shared().info().auth_required);
    w.write_all(b"PUB foo 2\r\nok\r\nPING\r\n").unwrap();
    // Without CONNECT the connection has the default options: verbose.
    for want in ["+OK\r\n", "PONG\r\n"] {
        let mut l = String::new();
        r.read_line(&mut l).unwrap();
        assert_eq!(l, want);
    }
}

#[test]
fn user_labels_for_logs() {
    let o = Options {
        authorization: "tok".into(),
        ..Options::default()
    };
    let a = authenticate(&o, &connect(r#"{"auth_token":"tok"}"#), None).unwrap();
    assert_eq!(a.user_label.as_deref(), Some("token"));
    let o = Options {
        users: vec![User {
            username: "foo".into(),
            password: "pwd".into(),
            permissions: None,
            account: String::new(),
            ..Default::default()
        }],
        no_auth_user: "foo".into(),
        ..Options::default()
    };
    let a = authenticate(&o, &connect(r#"{"user":"foo","pass":"pwd"}"#), None).unwrap();
    assert_eq!(a.user_label.as_deref(), Some("user:foo"));
    let a = authenticate(&o, &connect("{}"), None).unwrap();
    assert_eq!(a.user_label.as_deref(), Some("user:foo"));
    let a = authenticate(&Options::default(), &connect("{}"), None).unwrap();
    assert_eq!(a.user_label, None);
}

/// After authenticating, log lines name the user too (`"$G/user:x"`), after the client's
/// own info.
#[test]
fn label_names_the_authenticated_user() {
    use std::io::{BufRead, BufReader, Write};
    let s = crate::server::BackgroundServer::start(Options {
        host: "127.0.0.1".into(),
        port: -1,
        no_log: true,
        no_sigs: true,
        username: "derek".into(),
        password: "pwd".into(),
        ..Options::default()
    })
    .unwrap();
    let mut w = std::net::TcpStream::connect(s.addr).unwrap();
    w.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut r = BufReader::new(w.try_clone().unwrap());
    let mut l = String::new();
    r.read_line(&mut l).unwrap();
    w.write_all(
        b"CONNECT {\"verbose\":false,\"user\":\"derek\",\"pass\":\"pwd\",\"name\":\"app\"}\r\nPING\r\n",
    )
    .unwrap();
    l.clear();
    r.read_line(&mut l).unwrap();
    assert_eq!(l, "PONG\r\n");
    let clients = s.shared().clients();
    let label = clients[0].label();
    assert!(label.ends_with(" - \"app\" - \"$G/user:derek\""), "{label}");
}

#[test]
fn permission_entries_that_do_not_parse_are_skipped() {
    assert_eq!(split_subject_queue(" foo  bar "), Ok(("foo", Some("bar"))));
    assert_eq!(split_subject_queue("foo"), Ok(("foo", None)));
    assert!(split_subject_queue("foo bar fizz").is_err());
    assert!(split_subject_queue(" \t\r\n").is_err());
    assert!(split_subject_queue("foo..bar").is_err());

    let list = |l: &[&str]| Some(l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let p = Permissions {
        publish: Some(SubjectPermission {
            // "foo bar" is no subject: it allows nothing, not "foo".
            allow: list(&["foo bar", "ok.>"]),
            // A queue qualifier means nothing for a publish: the subject is denied.
            deny: list(&["ok.secret workers"]),
        }),
        subscribe: Some(SubjectPermission {
            // Three fields: skipped, so "foo" in "bar" is not allowed by it.
            allow: list(&["foo bar fizz", "baz"]),
            deny: None,
        }),
        response: None,
    };
    let c = ClientPerms::new(&p);
    let now = Instant::now();
    assert!(!c.pub_allowed("foo", now));
    assert!(c.pub_allowed("ok.x", now));
    assert!(!c.pub_allowed("ok.secret", now));
    assert!(!c.can_subscribe("foo", Some("bar")));
    assert!(!c.can_subscribe("foo", None));
    assert!(c.can_subscribe("baz", None));
}

#[test]
fn connect_naming_an_account_is_refused() {
    let o = Options {
        users: vec![User {
            username: "ua".into(),
            password: "pa".into(),
            permissions: None,
            account: "A".into(),
            ..Default::default()
        }],
        ..Options::default()
    };
    assert!(authenticate(&o, &connect(r#"{"user":"ua","pass":"pa"}"#), None).is_some());
    for json in [
        r#"{"user":"ua","pass":"pa","account":"A"}"#,
        r#"{"user":"ua","pass":"pa","account":"B"}"#,
        r#"{"user":"ua","pass":"pa","new_account":true}"#,
    ] {
        assert!(authenticate(&o, &connect(json), None).is_none(), "{json}");
    }
    // Without any authentication configured too.
    let open = Options::default();
    assert!(authenticate(&open, &connect(r#"{"account":"ANY"}"#), None).is_none());
    assert!(authenticate(&open, &connect(r#"{"new_account":true}"#), None).is_none());
}

#[test]
fn system_account_users_leave_global_access_open() {
    let sys_only = |conf: &str| {
        let mut o = Options::default();
        crate::config::file::apply_config_string(&mut o, conf).unwrap();
        o
    };
    let anonymous = connect(r#"{}"#);
    let admin = connect(r#"{"user":"admin","pass":"pwd"}"#);
    for conf in [
        "accounts { $SYS { users [{user: admin, password: pwd}] } }",
        "accounts { SYS { users [{user: admin, password: pwd}] } }\nsystem_account: SYS",
    ] {
        let o = sys_only(conf);
        let ok = authenticate(&o, &anonymous, None).unwrap();
        assert!(ok.account.is_empty(), "{conf}: global account");
        assert!(ok.perms.is_none());
        let ok = authenticate(&o, &admin, None).unwrap();
        assert_ne!(ok.account, "", "{conf}");
        assert!(authenticate(&o, &connect(r#"{"user":"admin","pass":"x"}"#), None).is_none());
        assert!(authenticate(&o, &connect(r#"{"auth_token":"x"}"#), None).is_none());
    }
    // Not with an authorization block, another account, or a system account not named.
    for conf in [
        "authorization { users [{user: u, password: p}] }\n\
         accounts { $SYS { users [{user: admin, password: pwd}] } }",
        "authorization { timeout: 1 }\naccounts { $SYS { users [{user: admin, password: pwd}] } }",
        "accounts { $SYS { users [{user: admin, password: pwd}] }, A { } }",
        "accounts { SYS { users [{user: admin, password: pwd}] } }",
    ] {
        let o = sys_only(conf);
        assert!(authenticate(&o, &anonymous, None).is_none(), "{conf}");
    }
}

/// Failed-authentication and removed-subscription log lines name the client's
/// credential: nkey first, then user, a redacted token, else `User "N/A"`.
#[test]
fn auth_user_names_the_credential_or_na() {
    assert_eq!(
        auth_user(&connect(r#"{"nkey":"UABC","user":"u"}"#)),
        r#"Nkey "UABC""#
    );
    assert_eq!(
        auth_user(&connect(r#"{"user":"foo","auth_token":"t"}"#)),
        r#"User "foo""#
    );
    assert_eq!(
        auth_user(&connect(r#"{"auth_token":"s3cr3t!"}"#)),
        r#"Token "[REDACTED]""#
    );
    assert_eq!(auth_user(&connect("{}")), r#"User "N/A""#);
}

fn ctx(conn_type: ConnectionType, nonce: Option<&str>) -> ConnContext<'_> {
    ConnContext { nonce, conn_type }
}

#[test]
fn connection_types_restrict_users_nkeys_and_no_auth_user() {
    let kp = nkeys::KeyPair::new_user();
    let only = |t: &str| [t.to_string()].into_iter().collect::<BTreeSet<String>>();
    let o = Options {
        users: vec![
            User {
                username: "std".into(),
                password: "pwd".into(),
                allowed_connection_types: only(conn_types::STANDARD),
                ..Default::default()
            },
            User {
                username: "iproc".into(),
                password: "pwd".into(),
                allowed_connection_types: only(conn_types::IN_PROCESS),
                ..Default::default()
            },
        ],
        nkeys: vec![NkeyUser {
            nkey: kp.public_key(),
            allowed_connection_types: only(conn_types::WEBSOCKET),
            ..Default::default()
        }],
        no_auth_user: "iproc".into(),
        ..Options::default()
    };
    let std_ctx = ctx(ConnectionType::Standard, Some("n"));
    let iproc_ctx = ctx(ConnectionType::InProcess, Some("n"));
    let std_user = connect(r#"{"user":"std","pass":"pwd"}"#);
    assert!(check_client(&o, &std_user, &std_ctx).is_ok());
    assert_eq!(
        check_client(&o, &std_user, &iproc_ctx).unwrap_err(),
        AuthFailure::Violation
    );
    let iproc_user = connect(r#"{"user":"iproc","pass":"pwd"}"#);
    assert!(check_client(&o, &iproc_user, &iproc_ctx).is_ok());
    assert!(check_client(&o, &iproc_user, &std_ctx).is_err());
    // The no_auth_user is held to its connection types as well.
    assert!(check_client(&o, &connect("{}"), &iproc_ctx).is_ok());
    assert!(check_client(&o, &connect("{}"), &std_ctx).is_err());
    // An nkey for websocket only, with a good signature, is refused on both.
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kp.sign(b"n").unwrap());
    let nkey = connect(&format!(
        r#"{{"nkey":"{}","sig":"{sig}"}}"#,
        kp.public_key()
    ));
    assert!(check_client(&o, &nkey, &std_ctx).is_err());
    assert!(check_client(&o, &nkey, &iproc_ctx).is_err());
}

#[test]
fn proxy_required_needs_a_trusted_proxy_signature() {
    let proxy = nkeys::KeyPair::new_user();
    let mut o = Options {
        users: vec![
            User {
                username: "direct".into(),
                password: "pwd".into(),
                ..Default::default()
            },
            User {
                username: "proxied".into(),
                password: "pwd".into(),
                proxy_required: true,
                ..Default::default()
            },
        ],
        ..Options::default()
    };
    let c = ctx(ConnectionType::Standard, Some("nonce"));
    let proxied = connect(r#"{"user":"proxied","pass":"pwd"}"#);
    assert_eq!(
        check_client(&o, &proxied, &c).unwrap_err(),
        AuthFailure::ProxyRequired
    );
    o.proxies = Some(proxy::ProxiesConfig {
        trusted: vec![proxy.public_key()],
    });
    let sig =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(proxy.sign(b"nonce").unwrap());
    let with_sig = |user: &str, sig: &str| {
        connect(&format!(
            r#"{{"user":"{user}","pass":"pwd","proxy_sig":"{sig}"}}"#
        ))
    };
    let ok = check_client(&o, &with_sig("proxied", &sig), &c).unwrap();
    assert_eq!(ok.proxy_key, Some(proxy.public_key()));
    // A signature no trusted key verifies fails whoever the user is.
    let stranger = nkeys::KeyPair::new_user();
    let bad =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(stranger.sign(b"nonce").unwrap());
    assert_eq!(
        check_client(&o, &with_sig("direct", &bad), &c).unwrap_err(),
        AuthFailure::ProxyNotTrusted
    );
    assert!(check_client(&o, &connect(r#"{"user":"direct","pass":"pwd"}"#), &c).is_ok());
    // The single user of the authorization block.
    let single = Options {
        username: "u".into(),
        password: "p".into(),
        proxy_required: true,
        ..Options::default()
    };
    assert_eq!(
        check_client(&single, &connect(r#"{"user":"u","pass":"p"}"#), &c).unwrap_err(),
        AuthFailure::ProxyRequired
    );
}

#[test]
fn no_auth_user_is_held_to_proxy_required() {
    // The pre-CONNECT path never carries a proxy signature, so such a user is refused.
    let o = Options {
        users: vec![User {
            username: "foo".into(),
            proxy_required: true,
            ..Default::default()
        }],
        no_auth_user: "foo".into(),
        ..Options::default()
    };
    assert_eq!(
        check_client(&o, &connect("{}"), &ctx(ConnectionType::Standard, None)).unwrap_err(),
        AuthFailure::ProxyRequired
    );
}
