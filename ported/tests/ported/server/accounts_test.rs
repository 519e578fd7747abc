//! Ports of `server/accounts_test.go` that need only accounts with users and subject
//! mappings (no imports, exports, limits, JWT or clustering).
//!
//! Where Go reads the server's internals (`s.LookupAccount`, `s.RegisterAccount`,
//! `c.acc`), these check the same fact through `ServerShared::accounts` and the account a
//! connected client is bound to.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use base64::Engine;
use natsd::account::{AccountConfig, ERR_ACCOUNT_EXISTS, GLOBAL_ACCOUNT};
use natsd::auth::User;
use natsd::config::file::process_config_file;
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{
    check_for, check_msg, create_conf_file, default_test_options, re, run_server,
    run_server_with_config, RawConn,
};
use std::sync::Arc;
use std::time::Duration;

fn conf_path(text: &str) -> String {
    create_conf_file(text.as_bytes())
        .to_string_lossy()
        .into_owned()
}

/// Connects, reads INFO and sends `CONNECT <json>` followed by a PING. Unless `json`
/// says otherwise, the CONNECT is not verbose (as the Go clients send it).
fn connect_with(s: &BackgroundServer, json: &str) -> (RawConn, serde_json::Value) {
    let mut c = RawConn::connect(s.addr);
    let info = c.check_info();
    let json = if json.contains("\"verbose\"") {
        json.to_string()
    } else {
        json.replacen('{', "{\"verbose\":false,", 1)
    };
    c.send(&format!("CONNECT {json}\r\nPING\r\n"));
    (c, info)
}

/// The name of the account of the only client connected to `s`, once it has one.
fn only_client_account(s: &BackgroundServer) -> Arc<natsd::account::Account> {
    let clients = s.shared().clients();
    assert_eq!(clients.len(), 1, "expected exactly one client");
    clients[0].account().expect("client bound to an account")
}

/// Waits until `s` has `n` clients.
fn wait_clients(s: &BackgroundServer, n: usize) {
    check_for(Duration::from_secs(2), Duration::from_millis(10), || {
        let got = s.shared().num_clients();
        if got == n {
            Ok(())
        } else {
            Err(format!("expected {n} clients, got {got}"))
        }
    });
}

port!("server/accounts_test.go::TestRegisterDuplicateAccounts" => register_duplicate_accounts);
fn register_duplicate_accounts() {
    let s = run_server(default_test_options());
    let accounts = &s.shared().accounts;
    accounts
        .register("$foo")
        .unwrap_or_else(|e| panic!("Error creating account 'foo': {e}"));
    accounts
        .register("$bar")
        .unwrap_or_else(|e| panic!("Error creating account 'bar': {e}"));
    assert_eq!(
        accounts.register("$foo").err(),
        Some(ERR_ACCOUNT_EXISTS),
        "Expected an error registering 'foo' twice"
    );
}

port!("server/accounts_test.go::TestAccountIsolation" => account_isolation);
fn account_isolation() {
    // Go binds two in-process clients to the accounts `$foo` and `$bar`; here each client
    // authenticates as a user of one of them.
    let user = |name: &str, account: &str| User {
        username: name.into(),
        password: name.into(),
        permissions: None,
        account: account.into(),
        ..Default::default()
    };
    let s = run_server(natsd::config::Options {
        accounts: ["$foo", "$bar"]
            .iter()
            .map(|n| AccountConfig {
                name: n.to_string(),
                ..AccountConfig::default()
            })
            .collect(),
        users: vec![user("foo", "$foo"), user("bar", "$bar")],
        ..default_test_options()
    });
    let (mut cfoo, _) = connect_with(&s, r#"{"user":"foo","pass":"foo"}"#);
    cfoo.expect(&re::PONG);
    let (mut cbar, _) = connect_with(&s, r#"{"user":"bar","pass":"bar"}"#);
    cbar.expect(&re::PONG);

    // Make sure they are different accounts, each with its own sublist.
    let acc_of = |user: &str| {
        s.shared()
            .clients()
            .into_iter()
            .find(|c| c.connect_opts().user == user)
            .and_then(|c| c.account())
            .unwrap()
    };
    let (foo_acc, bar_acc) = (acc_of("foo"), acc_of("bar"));
    assert!(
        !Arc::ptr_eq(&foo_acc, &bar_acc),
        "Error, accounts the same for both clients"
    );
    assert_eq!(foo_acc.name, "$foo");
    assert_eq!(bar_acc.name, "$bar");

    // Messages must not cross over: bar subscribes to foo as well.
    cbar.send("SUB foo 1\r\nPING\r\nPING\r\n");
    cbar.expect(&re::PONG);

    cfoo.send("SUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n");
    let msgs = cfoo.expect_msgs(1);
    check_msg(&msgs[0], "foo", "1", "", "5", "hello");
    cfoo.expect(&re::PONG);

    // Now make sure nothing shows up on bar: its next line is the second PONG.
    cbar.expect(&re::PONG);
    cbar.expect_nothing();
    // Each account's sublist holds its own subscriber on foo.
    assert_eq!(foo_acc.sublist.match_subject("foo").psubs.len(), 1);
    assert_eq!(bar_acc.sublist.match_subject("foo").psubs.len(), 1);
}

port!("server/accounts_test.go::TestAccountFromOptions" => account_from_options);
fn account_from_options() {
    let s = run_server(natsd::config::Options {
        accounts: ["foo", "bar"]
            .iter()
            .map(|n| AccountConfig {
                name: n.to_string(),
                ..AccountConfig::default()
            })
            .collect(),
        ..default_test_options()
    });
    let accounts = &s.shared().accounts;
    // Go counts its one reserved account ($G) plus the two; the Go test's server is not
    // started, so it has no system account yet. A started server also has `$SYS`.
    let names: Vec<String> = accounts.all().iter().map(|a| a.name.clone()).collect();
    assert_eq!(
        names,
        ["$G", "$SYS", "bar", "foo"],
        "Expected a server with 4 active accounts"
    );
    let foo_acc = accounts.lookup("foo");
    let bar_acc = accounts.lookup("bar");
    assert!(
        foo_acc.is_some() && bar_acc.is_some(),
        "Error retrieving accounts for 'foo' and 'bar'"
    );
    // Each has a sublist of its own.
    let (foo_acc, bar_acc) = (foo_acc.unwrap(), bar_acc.unwrap());
    assert!(!std::ptr::eq(&foo_acc.sublist, &bar_acc.sublist));
}

port!("server/accounts_test.go::TestNewAccountAndRequireNewAlwaysError" => new_account_and_require_new_always_error);
fn new_account_and_require_new_always_error() {
    let (s, _) = run_server_with_config(create_conf_file(
        br#"
        listen: 127.0.0.1:-1
        accounts: {
            A: { users: [ {user: ua, password: pa} ] },
            B: { users: [ {user: ub, password: pb} ] },
        }
        "#,
    ));
    // Success case.
    let (mut c, _) = connect_with(&s, r#"{"user":"ua", "pass":"pa"}"#);
    c.expect(&re::PONG);
    drop(c);

    // Any setting of account or new_account errors, even with proper credentials, and
    // even when the account named is the user's own.
    for connect in [
        r#"{"user":"ua", "pass":"pa", "account":"ANY"}"#,
        r#"{"user":"ua", "pass":"pa", "new_account":true}"#,
        r#"{"user":"ua", "pass":"pa", "account":"B"}"#,
        r#"{"user":"ua", "pass":"pa", "account":"A"}"#,
    ] {
        let (mut c, _) = connect_with(&s, connect);
        c.expect_err("Authorization Violation");
    }
}

port!("server/accounts_test.go::TestAccountSimpleConfig" => account_simple_config);
fn account_simple_config() {
    let opts = process_config_file(&conf_path("accounts = [foo, bar]"))
        .unwrap_or_else(|e| panic!("Received an error processing config file: {e}"));
    assert_eq!(opts.accounts.len(), 2, "Expected to see 2 accounts in opts");
    let has = |name: &str| opts.accounts.iter().any(|a| a.name == name);
    assert!(has("foo"), "Expected a 'foo' account");
    assert!(has("bar"), "Expected a 'bar' account");

    // Double entries are an error.
    assert!(
        process_config_file(&conf_path("accounts = [foo, foo]")).is_err(),
        "Expected an error with double account entries"
    );
}

port!("server/accounts_test.go::TestAccountParseConfigDuplicateUsers" => account_parse_config_duplicate_users);
fn account_parse_config_duplicate_users() {
    let r = process_config_file(&conf_path(
        r#"
        accounts {
          synadia {
            users = [
              {user: alice, password: foo}
              {user: bob, password: bar}
            ]
          }
          nats.io {
            users = [
              {user: alice, password: bar}
            ]
          }
        }
        "#,
    ));
    assert!(r.is_err(), "Expected an error with double user entries");
}

port!("server/accounts_test.go::TestAccountMapsUsers" => account_maps_users);
fn account_maps_users() {
    // Seeds of the two nkey users, to sign the nonce.
    const SEED1: &str = "SUAPM67TC4RHQLKBX55NIQXSMATZDOZK6FNEOSS36CAYA7F7TY66LP4BOM";
    const SEED2: &str = "SUAIS5JPX4X4GJ7EIIJEQ56DH2GWPYJRPWN5XJEDENJOZHCBLI7SEPUQDE";
    let (s, _) = run_server_with_config(create_conf_file(
        br#"
        listen: 127.0.0.1:-1
        accounts {
          synadia {
            users = [
              {user: derek, password: foo},
              {nkey: UCNGL4W5QX66CFX6A6DCBVDH5VOHMI7B2UZZU7TXAUQQSI2JPHULCKBR}
            ]
          }
          nats {
            users = [
              {user: ivan, password: bar},
              {nkey: UDPGQVFIWZ7Q5UH4I5E6DBCZULQS6VTVBG6CYBD7JV3G3N2GMQOMNAUH}
            ]
          }
        }
        "#,
    ));
    let synadia = s.shared().accounts.lookup("synadia");
    let nats = s.shared().accounts.lookup("nats");
    assert!(
        synadia.is_some() && nats.is_some(),
        "Expected non nil accounts during lookup"
    );
    let (synadia, nats) = (synadia.unwrap(), nats.unwrap());

    // A user/password login maps to the user's account.
    for (connect, want) in [
        (r#"{"user":"derek","pass":"foo"}"#, &synadia),
        (r#"{"user":"ivan","pass":"bar"}"#, &nats),
    ] {
        let (mut c, _) = connect_with(&s, connect);
        c.expect(&re::PONG);
        let acc = only_client_account(&s);
        assert!(
            Arc::ptr_eq(&acc, want),
            "Expected the client's account to match {:?}, got {:?}",
            want.name,
            acc.name
        );
        drop(c);
        wait_clients(&s, 0);
    }

    // And nkey users too.
    for (seed, want) in [(SEED1, &synadia), (SEED2, &nats)] {
        let kp = nkeys::KeyPair::from_seed(seed).unwrap();
        let mut c = RawConn::connect(s.addr);
        let info = c.check_info();
        let nonce = info["nonce"].as_str().unwrap_or_default();
        assert!(
            !nonce.is_empty(),
            "Expected a non-empty nonce with nkeys defined"
        );
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(kp.sign(nonce.as_bytes()).unwrap());
        c.send(&format!(
            "CONNECT {{\"nkey\":{:?},\"sig\":\"{sig}\",\"verbose\":true,\"pedantic\":true}}\r\nPING\r\n",
            kp.public_key()
        ));
        c.expect(&re::OK);
        c.expect(&re::PONG);
        let acc = only_client_account(&s);
        assert!(
            Arc::ptr_eq(&acc, want),
            "Expected the nkey client's account to match {:?}, got {:?}",
            want.name,
            acc.name
        );
        drop(c);
        wait_clients(&s, 0);
    }
}

port!("server/accounts_test.go::TestAccountGlobalDefault" => account_global_default);
fn account_global_default() {
    let s = run_server(default_test_options());
    assert!(
        s.shared().accounts.lookup(GLOBAL_ACCOUNT).is_some(),
        "Expected a global default account on a new server, got none."
    );
    // Make sure we can not create one with the same name.
    assert!(
        s.shared().accounts.register(GLOBAL_ACCOUNT).is_err(),
        "Expected error trying to create a new reserved account"
    );
    // Nor define one in a config file.
    assert!(
        process_config_file(&conf_path("accounts { $G {} }")).is_err(),
        "Expected an error parsing config file with reserved account"
    );
}

port!("server/accounts_test.go::TestAccountSystemPermsWithGlobalAccess" => account_system_perms_with_global_access);
fn account_system_perms_with_global_access() {
    let (s, _) = run_server_with_config(create_conf_file(
        br#"
        listen: 127.0.0.1:-1
        accounts {
            $SYS { users = [ { user: "admin", pass: "s3cr3t!" } ] }
        }
        "#,
    ));
    // A client without credentials connects to the global account as normal.
    let (mut nc, _) = connect_with(&s, r#"{"verbose":false}"#);
    nc.expect(&re::PONG);
    assert_eq!(only_client_account(&s).name, GLOBAL_ACCOUNT);
    drop(nc);
    wait_clients(&s, 0);

    // And to the system account with its credentials.
    let (mut sc, _) = connect_with(&s, r#"{"user":"admin","pass":"s3cr3t!"}"#);
    sc.expect(&re::PONG);
    let acc = only_client_account(&s);
    assert!(s.shared().accounts.is_system(&acc));
}

port!("server/accounts_test.go::TestAccountUserSubPermsWithQueueGroups" => account_user_sub_perms_with_queue_groups);
fn account_user_sub_perms_with_queue_groups() {
    let (s, _) = run_server_with_config(create_conf_file(
        br#"
        listen: 127.0.0.1:-1

        authorization {
        users = [
            { user: user, password: "pass",
                permissions: {
                    publish: "foo.restricted"
                    subscribe: { allow: "foo.>", deny: "foo.restricted" }
                    allow_responses: { max: 1, ttl: 0s }
                }
            }
        ]}
        "#,
    ));
    let (mut nc, _) = connect_with(&s, r#"{"user":"user","pass":"pass"}"#);
    nc.expect(&re::PONG);
    // A queue subscriber alone on foo.>.
    nc.send("SUB foo.> qg 1\r\nPUB foo.restricted 10\r\nRESTRICTED\r\nPING\r\n");
    // No message: the PONG comes first and nothing follows.
    nc.expect(&re::PONG);
    nc.expect_nothing();
}

port!("server/accounts_test.go::TestAccountParseConfig" => account_parse_config);
fn account_parse_config() {
    let trace_dest = "my.trace.dest";
    let trace_sampling = 50;
    let opts = process_config_file(&conf_path(&format!(
        r#"
    accounts {{
      synadia {{
        users = [
          {{user: alice, password: foo}}
          {{user: bob, password: bar}}
        ]
      }}
      nats.io {{
		msg_trace: {{dest: "{trace_dest}", sampling: {trace_sampling}%}}
        users = [
          {{user: derek, password: foo}}
          {{user: ivan, password: bar}}
        ]
      }}
    }}
    "#
    )))
    .unwrap_or_else(|e| panic!("Received an error processing config file: {e}"));
    assert_eq!(
        opts.accounts.len(),
        2,
        "Expected to see 2 accounts in opts, got {}",
        opts.accounts.len()
    );
    assert_eq!(
        opts.users.len(),
        4,
        "Expected 4 total Users, got {}",
        opts.users.len()
    );
    let nats_acc = opts
        .accounts
        .iter()
        .find(|a| a.name == "nats.io")
        .expect("Error retrieving account for 'nats.io'");
    assert_eq!(nats_acc.trace_dest, trace_dest);
    assert_eq!(nats_acc.trace_dest_sampling, trace_sampling);
    for u in &opts.users {
        if u.username == "derek" {
            assert_eq!(
                u.account, nats_acc.name,
                "Expected to see the 'nats.io' account, but received {:?}",
                u.account
            );
        }
    }
}

/// Ports of the subject mapping tests (`AddMapping`, `AddWeightedMappings`, `mappings`).
mod mapping_ports {
    use super::*;
    use natsd::mapping::MapDest;
    use regex::bytes::Regex;
    use std::collections::HashMap;
    use std::sync::LazyLock;

    /// Everything up to the PONG answering a PING (the messages have empty payloads).
    static UNTIL_PONG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s)\A.*?PONG\r\n").unwrap());
    static MSG_SID: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"MSG\s+\S+\s+(\S+)\s+0\r\n").unwrap());

    /// A client connected and subscribed to `subjects` (sids 1, 2, ...).
    fn subscriber(s: &BackgroundServer, subjects: &[&str]) -> RawConn {
        let (mut c, _) = connect_with(s, "{\"pedantic\":false}");
        c.expect(&re::PONG);
        let mut subs = String::new();
        for (i, subject) in subjects.iter().enumerate() {
            subs.push_str(&format!("SUB {subject} {}\r\n", i + 1));
        }
        c.send(&format!("{subs}PING\r\n"));
        c.expect(&re::PONG);
        c
    }

    /// Publishes `n` empty messages to each of `subjects`, flushes, and counts what
    /// arrived per sid (Go's `sub.Pending()` after `nc.Flush()`).
    fn publish_and_count(c: &mut RawConn, subjects: &[(&str, usize)]) -> HashMap<String, usize> {
        let mut pubs = String::new();
        for (subject, n) in subjects {
            for _ in 0..*n {
                pubs.push_str(&format!("PUB {subject} 0\r\n\r\n"));
            }
        }
        c.send(&format!("{pubs}PING\r\n"));
        let got = c.expect(&UNTIL_PONG);
        let mut counts = HashMap::new();
        for m in MSG_SID.captures_iter(&got) {
            *counts
                .entry(String::from_utf8_lossy(&m[1]).into_owned())
                .or_insert(0) += 1;
        }
        counts
    }

    fn pending(counts: &HashMap<String, usize>, sid: usize) -> usize {
        counts.get(&sid.to_string()).copied().unwrap_or(0)
    }

    port!("server/accounts_test.go::TestAccountBasicRouteMapping" => account_basic_route_mapping);
    fn account_basic_route_mapping() {
        let s = run_server(default_test_options());
        let acc = s.shared().accounts.lookup(GLOBAL_ACCOUNT).unwrap();
        acc.mappings.add("foo", "bar").unwrap();
        let mut nc = subscriber(&s, &["foo", "bar"]);
        let counts = publish_and_count(&mut nc, &[("foo", 1)]);
        assert_eq!(pending(&counts, 1), 0, "Expected 0 msgs for \"foo\"");
        assert_eq!(pending(&counts, 2), 1, "Expected 1 msgs for \"bar\"");
        assert!(acc.mappings.remove("foo"));
        let counts = publish_and_count(&mut nc, &[("foo", 1)]);
        assert_eq!(pending(&counts, 1), 1, "Expected 1 msgs for \"foo\"");
        assert_eq!(pending(&counts, 2), 0, "no new msg for \"bar\"");
    }

    port!("server/accounts_test.go::TestAccountWildcardRouteMapping" => account_wildcard_route_mapping);
    fn account_wildcard_route_mapping() {
        let s = run_server(default_test_options());
        let acc = s.shared().accounts.lookup(GLOBAL_ACCOUNT).unwrap();
        acc.mappings
            .add("foo.*.*", "bar.$2.$1")
            .unwrap_or_else(|e| panic!("Error adding mapping: {e}"));
        acc.mappings
            .add("bar.*.>", "baz.$1.>")
            .unwrap_or_else(|e| panic!("Error adding mapping: {e}"));
        let mut nc = subscriber(&s, &["foo.>", "bar.>", "baz.>"]);
        let counts = publish_and_count(&mut nc, &[("foo.1.2", 1)]);
        assert_eq!(pending(&counts, 1), 0, "Expected 0 msgs for \"foo.>\"");
        assert_eq!(pending(&counts, 2), 1, "Expected 1 msgs for \"bar.>\"");
        assert_eq!(pending(&counts, 3), 0, "Expected 0 msgs for \"baz.>\"");
    }

    port!("server/accounts_test.go::TestAccountRouteMappingChangesAfterClientStart" => account_route_mapping_changes_after_client_start);
    fn account_route_mapping_changes_after_client_start() {
        let s = run_server(default_test_options());
        // Create the client first, then add the mapping.
        let (mut nc, _) = connect_with(&s, "{\"pedantic\":false}");
        nc.expect(&re::PONG);
        let acc = s.shared().accounts.lookup(GLOBAL_ACCOUNT).unwrap();
        acc.mappings.add("foo", "bar").unwrap();
        nc.send("SUB foo 1\r\nSUB bar 2\r\nPING\r\n");
        nc.expect(&re::PONG);
        let counts = publish_and_count(&mut nc, &[("foo", 1)]);
        assert_eq!(pending(&counts, 1), 0);
        assert_eq!(pending(&counts, 2), 1);
        acc.mappings.remove("foo");
        let counts = publish_and_count(&mut nc, &[("foo", 1)]);
        assert_eq!(pending(&counts, 1), 1);
        assert_eq!(pending(&counts, 2), 0);
    }

    port!("server/accounts_test.go::TestAccountSimpleWeightedRouteMapping" => account_simple_weighted_route_mapping);
    fn account_simple_weighted_route_mapping() {
        let s = run_server(default_test_options());
        let acc = s.shared().accounts.lookup(GLOBAL_ACCOUNT).unwrap();
        acc.mappings
            .add_weighted("foo", &[MapDest::new("bar", 50)])
            .unwrap();
        let mut nc = subscriber(&s, &["foo", "bar"]);
        let total = 500;
        let counts = publish_and_count(&mut nc, &[("foo", total)]);
        let (fpending, bpending) = (pending(&counts, 1), pending(&counts, 2));
        let h = total / 2;
        let tp = h / 5;
        assert!(
            (h - tp..=h + tp).contains(&fpending),
            "Expected about {h} msgs, got {fpending} and {bpending}"
        );
        assert_eq!(fpending + bpending, total);
    }

    port!("server/accounts_test.go::TestAccountMultiWeightedRouteMappings" => account_multi_weighted_route_mappings);
    fn account_multi_weighted_route_mappings() {
        let s = run_server(default_test_options());
        let acc = s.shared().accounts.lookup(GLOBAL_ACCOUNT).unwrap();
        let add = |dests: &[MapDest]| acc.mappings.add_weighted("foo", dests);
        // Bad weights fail.
        assert!(add(&[MapDest::new("bar", 150)]).is_err());
        add(&[MapDest::new("bar", 50)]).unwrap();
        add(&[MapDest::new("bar", 50), MapDest::new("baz", 50)]).unwrap();
        // The same destination twice fails.
        assert!(add(&[MapDest::new("bar", 50), MapDest::new("bar", 50)]).is_err());
        // Over 100 in total fails.
        assert!(add(&[MapDest::new("bar", 50), MapDest::new("baz", 60)]).is_err());
        acc.mappings.remove("foo");
        // 20 for the original subject, added automatically.
        add(&[MapDest::new("bar", 50), MapDest::new("baz", 30)]).unwrap();

        let mut nc = subscriber(&s, &["foo", "bar", "baz"]);
        let total = 5000;
        let counts = publish_and_count(&mut nc, &[("foo", total)]);
        for (sid, subject, w) in [(1, "foo", 20), (2, "bar", 50), (3, "baz", 30)] {
            let got = pending(&counts, sid);
            let expected = total / (100 / w);
            let tp = expected / 5; // 20%
            assert!(
                (expected - tp..=expected + tp).contains(&got),
                "Expected about {expected} msgs for {subject:?}, got {got}"
            );
        }
    }

    const MAPPINGS: &str = r#"
        foo: bar
        foo.*: [ { dest: bar.v1.$1, weight: 40% }, { destination: baz.v2.$1, weight: 20 } ]
        bar.*.*: RAB.$2.$1
    "#;

    port!("server/accounts_test.go::TestGlobalAccountRouteMappingsConfiguration" => global_account_route_mappings_configuration);
    fn global_account_route_mappings_configuration() {
        let (s, _) = run_server_with_config(conf_path(&format!(
            "port: -1\nmappings = {{ {MAPPINGS} }}\n"
        )));
        let mut nc = subscriber(&s, &["bar", "bar.v1.>", "baz.v2.>", "RAB.>", "foo.*"]);
        let total = 500;
        let counts = publish_and_count(&mut nc, &[("foo", 1), ("bar.11.22", 1), ("foo.22", total)]);
        assert_eq!(pending(&counts, 1), 1, "Expected 1 msgs for \"bar\"");
        assert_eq!(pending(&counts, 4), 1, "Expected 1 msgs for \"RAB.>\"");
        let (fpending, fpending1, fpending2) = (
            pending(&counts, 5),
            pending(&counts, 2),
            pending(&counts, 3),
        );
        assert!(
            fpending1 >= fpending2 && fpending >= fpending2,
            "Loadbalancing seems off for the foo.* mappings: {fpending} and {fpending1} and {fpending2}"
        );
        assert_eq!(fpending + fpending1 + fpending2, total);
    }

    port!("server/accounts_test.go::TestAccountRouteMappingsConfiguration" => account_route_mappings_configuration);
    fn account_route_mappings_configuration() {
        let (s, _) = run_server_with_config(conf_path(&format!(
            "port: -1\naccounts {{ synadia {{ users = [{{user: derek, password: foo}}]\n mappings = {{ {MAPPINGS} }} }} }}\n"
        )));
        let acc = s.shared().accounts.lookup("synadia").unwrap();
        assert!(
            acc.mappings.any(),
            "Account \"synadia\" does not have mappings"
        );
        let az = natsd::monitor::accounts::accountz(s.shared(), "synadia").unwrap();
        let account = az.account.expect("Expected an Account");
        assert_eq!(
            account.mappings.len(),
            3,
            "Expected 3 mappings, saw {}",
            account.mappings.len()
        );
    }

    port!("server/accounts_test.go::TestAccountRouteMappingsWithLossInjection" => account_route_mappings_with_loss_injection);
    fn account_route_mappings_with_loss_injection() {
        let (s, _) = run_server_with_config(conf_path(
            "port: -1\nmappings = {\n foo: { dest: foo, weight: 80% }\n bar: { dest: bar, weight: 0% }\n}\n",
        ));
        let mut nc = subscriber(&s, &["foo"]);
        let total = 1000;
        let counts = publish_and_count(&mut nc, &[("foo", total)]);
        assert_ne!(
            pending(&counts, 1),
            total,
            "Expected some loss and pending to not be same as sent"
        );
        nc.send("SUB bar 2\r\nPING\r\n");
        nc.expect(&re::PONG);
        let counts = publish_and_count(&mut nc, &[("bar", total)]);
        assert_eq!(
            pending(&counts, 2),
            0,
            "Expected all messages to be dropped and pending to be 0"
        );
    }
}

port!("server/accounts_test.go::TestAccountLimitsServerConfig" => account_limits_server_config);
fn account_limits_server_config() {
    let (s, _) = run_server_with_config(conf_path(
        r#"
        port: -1
        max_connections: 10
        accounts {
            MAXC {
                users = [{user: derek, password: foo}]
                limits {
                    max_connections: 5
                    max_subs: 10
                    max_payload: 32k
                    max_leafnodes: 1
                }
            }
        }
        "#,
    ));
    let acc = s.shared().accounts.lookup("MAXC").unwrap();
    let limits = acc.limits();
    assert_eq!(
        limits.max_connections, 5,
        "Did not set MaxActiveConnections properly"
    );
    assert_eq!(
        limits.max_leafnodes, 1,
        "Did not set MaxActiveLeafNodes properly"
    );
    // Connections are counted against the account.
    let mut conns = Vec::new();
    for _ in 0..5 {
        let (mut c, _) = connect_with(&s, r#"{"user":"derek","pass":"foo"}"#);
        c.expect(&re::PONG);
        conns.push(c);
    }
    // Should fail.
    let (mut c, _) = connect_with(&s, r#"{"user":"derek","pass":"foo"}"#);
    c.expect_err("maximum account active connections exceeded");
    c.expect_disconnect();
}
