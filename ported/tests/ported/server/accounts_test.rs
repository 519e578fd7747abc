//! Ports of `server/accounts_test.go`: accounts with users, subject mappings, and
//! config-file exports and imports (no JWT or clustering).
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

mod cross_account;

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

/// Ports of the export/import tests. Go registers accounts and binds in-process clients
/// to them; here each account has a user of the same name (password: the name) and
/// clients authenticate as it. Exports and imports are added through the same account
/// methods Go's tests call. Where Go counts the shadow subscriptions stream imports add
/// to the exporter's sublist, `num_shadow_subscriptions` answers (natsd routes imports
/// at publish time instead of keeping shadow subscriptions). The accounts keep Go's
/// names (`foo`, `bar`, `baz`).
#[allow(clippy::disallowed_names)]
mod import_ports {
    use super::*;
    use natsd::account::imports::{ImportError, ResponseType};
    use natsd::account::Account;

    /// A server with one account per name, each with a user of that name.
    fn accounts_server(names: &[&str]) -> BackgroundServer {
        run_server(natsd::config::Options {
            accounts: names
                .iter()
                .map(|n| AccountConfig {
                    name: n.to_string(),
                    ..AccountConfig::default()
                })
                .collect(),
            users: names
                .iter()
                .map(|n| User {
                    username: n.to_string(),
                    password: n.to_string(),
                    account: n.to_string(),
                    ..Default::default()
                })
                .collect(),
            ..default_test_options()
        })
    }

    fn account(s: &BackgroundServer, name: &str) -> Arc<Account> {
        s.shared().accounts.lookup(name).unwrap()
    }

    /// Go's `simpleAccountServer`: accounts `$foo` and `$bar`.
    fn simple_account_server() -> (BackgroundServer, Arc<Account>, Arc<Account>) {
        let s = accounts_server(&["$foo", "$bar"]);
        let (f, b) = (account(&s, "$foo"), account(&s, "$bar"));
        (s, f, b)
    }

    /// A client of the account `name`, connected (its PONG read).
    fn client(s: &BackgroundServer, name: &str) -> RawConn {
        let (mut c, _) = connect_with(s, &format!(r#"{{"user":"{name}","pass":"{name}"}}"#));
        c.expect(&re::PONG);
        c
    }

    /// Sends `ops` and waits until the server processed them.
    fn parse(c: &mut RawConn, ops: &str) {
        c.send(&format!("{ops}PING\r\n"));
        c.expect(&re::PONG);
    }

    /// Subscriptions of client connections in `acc` (Go's `sl.Count()` in these tests,
    /// whose server has no system account: natsd's accounts also hold the system
    /// account's internal subscriptions).
    fn client_subs(acc: &Account) -> usize {
        acc.sublist
            .all_filtered(&|s| s.0.client.kind() != natsd::protocol::parser::ConnKind::System)
            .len()
    }

    fn names<'a>(accs: &[&'a Arc<Account>]) -> Vec<&'a str> {
        accs.iter().map(|a| a.name.as_str()).collect()
    }

    /// Go's `server/configs/accounts.conf`.
    const ACCOUNTS_CONF: &str = r#"
accounts: {
  synadia: {
    nkey: ADMHMDX2LEUJRZQHGVSVRWZEJ2CPNHYO6TB4ZCZ37LXAX5SYNEW252GF

    users = [
      # Bob
      {nkey : UC6NLCN7AS34YOJVCYD4PJ3QB7QGLYG5B5IMBT25VW5K4TNUJODM7BOX}
      # Alice
      {nkey : UBAAQWTW6CG2G6ANGNKB5U2B7HRWHSGMZEZX3AQSAJOQDAUGJD46LD2E}
    ]

    exports = [
      {stream: "public.>"} # No accounts means public.
      {stream: "synadia.private.>", accounts: [cncf, nats.io]}
      {service: "pub.request"} # No accounts means public.
      {service: "pub.special.request", accounts: [nats.io]}
    ]

    imports = [
      {service: {account: "nats.io", subject: "nats.time"}}
    ]
  }

  nats.io: {
    nkey: AB5UKNPVHDWBP5WODG742274I3OGY5FM3CBIFCYI4OFEH7Y23GNZPXFE

    users = [
      # Ivan
      {nkey : UBRYMDSRTC6AVJL6USKKS3FIOE466GMEU67PZDGOWYSYHWA7GSKO42VW}
      # Derek
      {nkey : UDEREK22W43P2NFQCSKGM6BWD23OVWEDR7JE7LSNCD232MZIC4X2MEKZ}
    ]

    imports = [
      {stream: {account: "synadia", subject:"public.synadia"}, prefix: "imports.synadia", allow_trace: true}
      {stream: {account: "synadia", subject:"synadia.private.*"}}
      {service: {account: "synadia", subject: "pub.special.request"}, to: "synadia.request"}
    ]

    exports = [
      {service: "nats.time", response: stream, allow_trace: true}
      {service: "nats.photo", response: chunked}
      {service: "nats.add", response: singleton, accounts: [cncf], allow_trace: true}
      {service: "nats.sub"}
    ]
  }

  cncf: { nkey: ABDAYEV6KZVLW3GSJ3V7IWC542676TFYILXF2C7Z56LCPSMVHJE5BVYO}
}
"#;

    port!("server/accounts_test.go::TestAccountParseConfigImportsExports" => account_parse_config_imports_exports);
    fn account_parse_config_imports_exports() {
        let opts = process_config_file(&conf_path(ACCOUNTS_CONF))
            .unwrap_or_else(|e| panic!("parsing failed: {e}"));
        assert_eq!(opts.accounts.len(), 3, "Expected to see 3 accounts in opts");
        assert_eq!(opts.nkeys.len(), 4, "Expected 4 total Nkey users");
        assert_eq!(opts.users.len(), 0, "Expected no Users");
        let nats_cfg = opts.accounts.iter().find(|a| a.name == "nats.io").unwrap();
        assert_eq!(
            nats_cfg.nkey,
            "AB5UKNPVHDWBP5WODG742274I3OGY5FM3CBIFCYI4OFEH7Y23GNZPXFE"
        );
        let nk = opts
            .nkeys
            .iter()
            .find(|n| n.nkey == "UBRYMDSRTC6AVJL6USKKS3FIOE466GMEU67PZDGOWYSYHWA7GSKO42VW")
            .unwrap();
        assert_eq!(nk.account, "nats.io", "user associated with natsAcc");

        // Go's options hold the accounts with their imports set up; here the server
        // built from those options holds them.
        let s = run_server(natsd::config::Options {
            port: default_test_options().port,
            ..opts
        });
        let nats_acc = account(&s, "nats.io");
        let si = nats_acc.stream_imports();
        assert_eq!(si.len(), 2, "Expected 2 imported streams");
        for i in &si {
            assert_eq!(i.allow_trace, i.from == "public.synadia", "{}", i.from);
        }
        assert_eq!(
            nats_acc.service_imports().len(),
            1,
            "Expected 1 imported service"
        );
        let exports = nats_acc.service_exports();
        assert_eq!(exports.len(), 4, "Expected 4 exported services");
        assert_eq!(
            nats_acc.stream_exports().len(),
            0,
            "Expected no exported streams"
        );
        let ea = &exports["nats.time"];
        assert_eq!(ea.response_type, ResponseType::Streamed);
        assert!(ea.allow_trace);
        let ea = &exports["nats.photo"];
        assert_eq!(ea.response_type, ResponseType::Chunked);
        assert!(!ea.allow_trace);
        let ea = &exports["nats.add"];
        assert_eq!(ea.response_type, ResponseType::Singleton);
        assert!(ea.allow_trace);

        let syn_acc = account(&s, "synadia");
        assert_eq!(
            syn_acc.stream_imports().len(),
            0,
            "Expected no imported streams"
        );
        assert_eq!(
            syn_acc.service_imports().len(),
            1,
            "Expected 1 imported service"
        );
        assert_eq!(
            syn_acc.service_exports().len(),
            2,
            "Expected 2 exported service"
        );
        assert_eq!(
            syn_acc.stream_exports().len(),
            2,
            "Expected 2 exported streams"
        );
    }

    port!("server/accounts_test.go::TestImportExportConfigFailures" => import_export_config_failures);
    fn import_export_config_failures() {
        for (conf, why) in [
            (
                r#"accounts { nats.io { imports = [{stream: {account: "synadia", subject:"foo"}}] } }"#,
                "import from unknown account",
            ),
            (
                r#"accounts { nats.io { imports = [{service: subject:"foo.*"}] } }"#,
                "import of a service with no account",
            ),
            (
                r#"accounts { nats.io { imports = [{service: {account: "nats.io", subject:"foo.*"}] } }"#,
                "import of a service with wildcard subject",
            ),
            (
                r#"accounts { nats.io { exports = [{service: "foo.*", wat:true}] } }"#,
                "export with unknown keyword",
            ),
            (
                r#"accounts { nats.io { imports = [{stream: {account: nats.io, subject: "foo.*"}, wat:true}] } }"#,
                "import with unknown keyword",
            ),
            (
                r#"accounts { nats.io { exports = [{service: {account: nats.io, subject:"foo.*"}}] } }"#,
                "export with account",
            ),
        ] {
            let conf = format!("\n    {conf}\n    ");
            assert!(
                process_config_file(&conf_path(&conf)).is_err(),
                "Expected an error with {why}"
            );
        }
    }

    port!("server/accounts_test.go::TestImportAuthorized" => import_authorized);
    fn import_authorized() {
        let (_s, foo, bar) = simple_account_server();
        let b = bar.name.clone();
        let stream = |foo: &Account, subject: &str| foo.check_stream_import_authorized(&b, subject);
        for subj in ["foo", "*", ">", "foo.*", "foo.>"] {
            assert!(!stream(&foo, subj), "{subj}");
        }
        foo.add_stream_export("foo", None).unwrap();
        assert!(stream(&foo, "foo"));
        assert!(!stream(&foo, "bar"));
        assert!(!stream(&foo, "*"));

        foo.add_stream_export("*", Some(&[&b])).unwrap();
        for (subj, want) in [
            ("foo", true),
            ("bar", true),
            ("baz", true),
            ("foo.bar", false),
            (">", false),
            ("*", true),
            ("foo.*", false),
            ("*.*", false),
            ("*.>", false),
        ] {
            assert_eq!(stream(&foo, subj), want, "{subj}");
        }

        // Reset and test '>' public export.
        let (_s, foo, _bar) = simple_account_server();
        foo.add_stream_export(">", None).unwrap();
        for subj in [
            "foo", "bar", "baz", "foo.bar", ">", "*", "foo.*", "*.*", "*.>",
        ] {
            assert!(stream(&foo, subj), "{subj}");
        }

        let (_s, foo, _bar) = simple_account_server();
        foo.add_stream_export_with_account_pos("foo.*", Some(&[]), 2)
            .unwrap();
        foo.add_stream_export_with_account_pos("bar.*.foo", Some(&[]), 2)
            .unwrap();
        assert!(
            foo.add_stream_export_with_account_pos("baz.*.>", Some(&[]), 3)
                .is_err(),
            "expected error"
        );
        assert!(stream(&foo, &format!("foo.{b}")));
        assert!(stream(&foo, &format!("bar.{b}.foo")));
        assert!(!stream(&foo, &format!("baz.foo.{b}")));
        assert!(!stream(&foo, "foo.X"));
        assert!(!stream(&foo, "bar.X.foo"));
        assert!(!stream(&foo, "baz.foo.X"));

        foo.add_service_export_full("a.*", ResponseType::Singleton, Some(&[]), 2)
            .unwrap();
        foo.add_service_export_full("b.*.a", ResponseType::Singleton, Some(&[]), 2)
            .unwrap();
        assert!(
            foo.add_service_export_full("c.*.>", ResponseType::Singleton, Some(&[]), 3)
                .is_err(),
            "expected error"
        );
        let service = |subject: &str| foo.check_service_import_authorized(&b, subject);
        assert!(service(&format!("a.{b}")));
        assert!(service(&format!("b.{b}.a")));
        assert!(!service(&format!("c.a.{b}")));
        assert!(!service("a.X"));
        assert!(!service("b.X.a"));
        assert!(!service("c.a.X"));

        // Reset and test pwc and fwc.
        let (s, foo, _bar) = simple_account_server();
        foo.add_stream_export("foo.*.baz.>", Some(&[&b])).unwrap();
        for (subj, want) in [
            ("foo.bar.baz.1", true),
            ("foo.bar.baz.*", true),
            ("foo.*.baz.1.1", true),
            ("foo.22.baz.22", true),
            ("foo.bar.baz", false),
            ("", false),
            ("foo.bar.*.*", false),
        ] {
            assert_eq!(stream(&foo, subj), want, "{subj:?}");
        }
        // Make sure we match the account as well.
        let fb = s.shared().accounts.register("foobar").unwrap();
        let bz = s.shared().accounts.register("baz").unwrap();
        assert!(!foo.check_stream_import_authorized(&fb.name, "foo.bar.baz.1"));
        assert!(!foo.check_stream_import_authorized(&bz.name, "foo.bar.baz.1"));
    }

    port!("server/accounts_test.go::TestSimpleMapping" => simple_mapping);
    fn simple_mapping() {
        let (s, foo, bar) = simple_account_server();
        let mut cfoo = client(&s, "$foo");
        let mut cbar = client(&s, "$bar");

        // Importing with no matching export is refused.
        assert_eq!(
            bar.add_stream_import(&foo, "foo", "import"),
            Err(ImportError::StreamImportAuthorization)
        );
        foo.add_stream_export("foo", None).unwrap();
        bar.add_stream_import(&foo, "foo", "import").unwrap();

        // Normal and queue subscription on bar.
        parse(&mut cbar, "SUB import.foo 1\r\nSUB import.foo bar 2\r\n");
        cfoo.send("PUB foo 5\r\nhello\r\n");
        let mut msgs = cbar.expect_msgs(2);
        msgs.sort_by(|a, b| a.sid.cmp(&b.sid));
        check_msg(&msgs[0], "import.foo", "1", "", "5", "hello");
        check_msg(&msgs[1], "import.foo", "2", "", "5", "hello");

        assert_eq!(client_subs(&bar), 2, "normal subscriptions on barAcc");
        assert_eq!(
            foo.num_shadow_subscriptions(),
            2,
            "shadowed subscriptions on fooAcc"
        );
        parse(&mut cbar, "UNSUB 1\r\nUNSUB 2\r\n");
        assert_eq!(client_subs(&bar), 0);
        assert_eq!(foo.num_shadow_subscriptions(), 0);
    }

    port!("server/accounts_test.go::TestStreamImportLengthBug" => stream_import_length_bug);
    fn stream_import_length_bug() {
        let (s, foo, bar) = simple_account_server();
        let _cfoo = client(&s, "$foo");
        let mut cbar = client(&s, "$bar");
        foo.add_stream_export("client.>", None).unwrap();
        assert!(
            bar.add_stream_import(&foo, "client.>", "events.>").is_err(),
            "Expected an error when using a stream import prefix with a wildcard"
        );
        bar.add_stream_import(&foo, "client.>", "events").unwrap();
        parse(&mut cbar, "SUB events.> 1\r\n");

        let conf = r#"
	accounts {
	  foo {
	    exports = [{stream: "client.>"}]
	  }
	  bar {
	    imports = [{stream: {account: "foo", subject:"client.>"}, prefix:"events.>"}]
	  }
	}
	"#;
        assert!(
            process_config_file(&conf_path(conf)).is_err(),
            "Expected an error with import with wildcard prefix"
        );
    }

    /// The body of Go's wildcard prefix tests: `bar` imports `*` from `foo` with
    /// `prefix`, subscribes to `sub`, and gets `foo`'s publish on `want`.
    fn wildcard_mapping(prefix: &str, sub: &str, want: &str) {
        let (s, foo, bar) = simple_account_server();
        let mut cfoo = client(&s, "$foo");
        let mut cbar = client(&s, "$bar");
        foo.add_stream_export(">", Some(&[&bar.name])).unwrap();
        bar.add_stream_import(&foo, "*", prefix).unwrap();
        parse(&mut cbar, &format!("SUB {sub} 1\r\n"));
        cfoo.send("PUB foo 5\r\nhello\r\n");
        let msgs = cbar.expect_msgs(1);
        check_msg(&msgs[0], want, "1", "", "5", "hello");
    }

    port!("server/accounts_test.go::TestNoPrefixWildcardMapping" => no_prefix_wildcard_mapping);
    fn no_prefix_wildcard_mapping() {
        wildcard_mapping("", "foo", "foo");
    }

    port!("server/accounts_test.go::TestPrefixWildcardMapping" => prefix_wildcard_mapping);
    fn prefix_wildcard_mapping() {
        // A trailing '.' is accepted.
        wildcard_mapping("pub.imports.", "pub.imports.*", "pub.imports.foo");
    }

    port!("server/accounts_test.go::TestPrefixWildcardMappingWithLiteralSub" => prefix_wildcard_mapping_with_literal_sub);
    fn prefix_wildcard_mapping_with_literal_sub() {
        wildcard_mapping("pub.imports.", "pub.imports.foo", "pub.imports.foo");
    }

    port!("server/accounts_test.go::TestMultipleImportsAndSingleWCSub" => multiple_imports_and_single_wc_sub);
    fn multiple_imports_and_single_wc_sub() {
        let (s, foo, bar) = simple_account_server();
        let mut cfoo = client(&s, "$foo");
        let mut cbar = client(&s, "$bar");
        foo.add_stream_export("foo", Some(&[&bar.name])).unwrap();
        foo.add_stream_export("bar", Some(&[&bar.name])).unwrap();
        bar.add_stream_import(&foo, "foo", "pub.").unwrap();
        bar.add_stream_import(&foo, "bar", "pub.").unwrap();
        parse(&mut cbar, "SUB pub.* 1\r\n");
        cfoo.send("PUB foo 5\r\nhello\r\nPUB bar 5\r\nworld\r\n");
        let msgs = cbar.expect_msgs(2);
        check_msg(&msgs[0], "pub.foo", "1", "", "5", "hello");
        check_msg(&msgs[1], "pub.bar", "1", "", "5", "world");
        cbar.send("PING\r\n");
        cbar.expect(&re::PONG);

        assert_eq!(
            foo.num_shadow_subscriptions(),
            2,
            "shadowed subscriptions on fooAcc"
        );
        assert_eq!(client_subs(&bar), 1, "normal subscriptions on barAcc");
        parse(&mut cbar, "UNSUB 1\r\n");
        assert_eq!(client_subs(&bar), 0);
        assert_eq!(foo.num_shadow_subscriptions(), 0);
    }

    port!("server/accounts_test.go::TestAddServiceExport" => add_service_export);
    fn add_service_export() {
        let (s, foo, bar) = simple_account_server();
        let baz = s.shared().accounts.register("$baz").unwrap();
        let approved = |foo: &Account| {
            foo.service_exports()["test.request"]
                .auth
                .approved
                .as_ref()
                .map_or(0, |a| a.len())
        };
        foo.add_service_export("test.request", None).unwrap();
        assert_eq!(approved(&foo), 0, "Expected no authorized accounts");
        foo.add_service_export("test.request", Some(&names(&[&bar])))
            .unwrap();
        assert_eq!(approved(&foo), 1);
        foo.add_service_export("test.request", Some(&names(&[&baz])))
            .unwrap();
        assert_eq!(approved(&foo), 2);
    }

    port!("server/accounts_test.go::TestAddStreamExport" => add_stream_export);
    fn add_stream_export() {
        let (s, foo, bar) = simple_account_server();
        let baz = s.shared().accounts.register("$baz").unwrap();
        foo.add_stream_export("test.request", None).unwrap();
        assert!(
            foo.stream_exports()["test.request"].is_none(),
            "Expected no authorized accounts"
        );
        let approved = |foo: &Account| {
            foo.stream_exports()["test.request"]
                .as_ref()
                .expect("Expected authorized accounts, got nil")
                .approved
                .as_ref()
                .map_or(0, |a| a.len())
        };
        foo.add_stream_export("test.request", Some(&names(&[&bar])))
            .unwrap();
        assert_eq!(approved(&foo), 1);
        foo.add_stream_export("test.request", Some(&names(&[&baz])))
            .unwrap();
        assert_eq!(approved(&foo), 2);
    }

    /// A request from `cbar` on `req_subject` reaches `cfoo` (sid 1) on `want_subject`
    /// with a `_R_.` reply; the response comes back on `reply` (sid 11) with no reply.
    fn request_reply(
        cfoo: &mut RawConn,
        cbar: &mut RawConn,
        req_subject: &str,
        want_subject: &str,
        reply: &str,
    ) {
        cbar.send(&format!(
            "SUB {reply} 11\r\nPUB {req_subject} {reply} 4\r\nhelp\r\n"
        ));
        let m = cfoo.expect_msgs(1).remove(0);
        assert_eq!(m.subject, want_subject);
        assert_eq!(m.sid, "1");
        assert!(
            m.reply.starts_with("_R_."),
            "Expected an _R_.* like reply, got {:?}",
            m.reply
        );
        assert_eq!(m.payload, "help");
        cfoo.send(&format!("PUB {} 2\r\n22\r\n", m.reply));
        let r = cbar.expect_msgs(1).remove(0);
        check_msg(&r, reply, "11", "", "2", "22");
    }

    port!("server/accounts_test.go::TestServiceExportWithWildcards" => service_export_with_wildcards);
    fn service_export_with_wildcards() {
        for public in [true, false] {
            let (s, foo, bar) = simple_account_server();
            let accs = names(&[&bar]);
            foo.add_service_export("ngs.update.*", (!public).then_some(&accs[..]))
                .unwrap();
            bar.add_service_import(Some(&foo), "ngs.update", "ngs.update.$bar")
                .unwrap();
            let mut cfoo = client(&s, "$foo");
            let mut cbar = client(&s, "$bar");
            parse(&mut cfoo, "SUB ngs.update.* 1\r\n");
            request_reply(
                &mut cfoo,
                &mut cbar,
                "ngs.update",
                "ngs.update.$bar",
                "reply",
            );
            assert_eq!(bar.num_pending_responses(), 0, "public={public}");
        }
    }

    port!("server/accounts_test.go::TestServiceImportWithWildcards" => service_import_with_wildcards);
    fn service_import_with_wildcards() {
        let (s, foo, bar) = simple_account_server();
        foo.add_service_export("test.*", None).unwrap();
        assert!(
            bar.add_service_import(Some(&foo), "test.*", "foo").is_err(),
            "Expected error adding account service import with wildcard and mapping"
        );
        assert!(
            bar.add_service_import(Some(&foo), "test.>", "").is_err(),
            "Expected error adding account service import with broader wildcard"
        );
        bar.add_service_import(Some(&foo), "test.*", "").unwrap();
        let mut cfoo = client(&s, "$foo");
        parse(&mut cfoo, "SUB test.* 1\r\n");
        let mut cbar = client(&s, "$bar");
        request_reply(&mut cfoo, &mut cbar, "test.22", "test.22", "bar");
        assert!(bar.remove_service_import(&foo.name, "test.*"));
        assert_eq!(
            bar.service_imports().len(),
            0,
            "Expected no imported services"
        );
    }

    port!("server/accounts_test.go::TestCrossAccountRequestReply" => cross_account_request_reply);
    fn cross_account_request_reply() {
        let (s, foo, bar) = simple_account_server();
        let mut cfoo = client(&s, "$foo");
        let mut cbar = client(&s, "$bar");
        foo.add_service_export("test.request", None).unwrap();
        assert_eq!(
            bar.add_service_import(None, "foo", "test.request"),
            Err(ImportError::MissingAccount)
        );
        assert_eq!(
            bar.add_service_import(Some(&foo), "foo", "test..request."),
            Err(ImportError::InvalidSubject)
        );
        bar.add_service_import(Some(&foo), "foo", "test.request")
            .unwrap();
        parse(&mut cfoo, "SUB test.request 1\r\n");
        request_reply(&mut cfoo, &mut cbar, "foo", "test.request", "bar");
        assert_eq!(
            bar.num_pending_responses(),
            0,
            "Expected no responses on barAcc"
        );
    }

    port!("server/accounts_test.go::TestCrossAccountServiceResponseTypes" => cross_account_service_response_types);
    fn cross_account_service_response_types() {
        let (s, foo, bar) = simple_account_server();
        let mut cfoo = client(&s, "$foo");
        let mut cbar = client(&s, "$bar");
        foo.add_service_export_with_response("test.request", ResponseType::Streamed, None)
            .unwrap();
        bar.add_service_import(Some(&foo), "foo", "test.request")
            .unwrap();
        parse(&mut cfoo, "SUB test.request 1\r\n");
        cbar.send("SUB bar 11\r\nPUB foo bar 4\r\nhelp\r\n");
        let m = cfoo.expect_msgs(1).remove(0);
        assert!(m.reply.starts_with("_R_."), "{:?}", m.reply);
        let reply_op = format!("PUB {} 2\r\n22\r\n", m.reply);
        cfoo.send(&reply_op.repeat(10));
        let got = cbar.expect_msgs(10);
        assert_eq!(got.len(), 10, "Expected 10 responses");

        // The response mapping goes when interest does.
        drop(cbar);
        check_for(
            Duration::from_secs(1),
            Duration::from_millis(10),
            || match bar.num_pending_responses() {
                0 => Ok(()),
                n => Err(format!("Number of responses is {n}")),
            },
        );

        // Bogus reply subjects do not accumulate response mappings.
        let mut cbar = client(&s, "$bar");
        cbar.send("PUB foo bar 4\r\nhelp\r\n");
        let m = cfoo.expect_msgs(1).remove(0);
        assert!(m.reply.starts_with("_R_."), "{:?}", m.reply);
        cfoo.send(&format!("PUB {} 2\r\n22\r\n", m.reply));
        check_for(
            Duration::from_secs(1),
            Duration::from_millis(10),
            || match foo.num_pending_responses() {
                0 => Ok(()),
                n => Err(format!("Number of responses is {n}")),
            },
        );
    }

    port!("server/accounts_test.go::TestAccountDuplicateServiceImportSubject" => account_duplicate_service_import_subject);
    fn account_duplicate_service_import_subject() {
        let s = run_server(default_test_options());
        let accs = &s.shared().accounts;
        let foo = accs.register("foo").unwrap();
        foo.add_service_export("remote1", None).unwrap();
        foo.add_service_export("remote2", None).unwrap();
        let bar = accs.register("bar").unwrap();
        bar.add_service_import(Some(&foo), "foo", "remote1")
            .unwrap();
        let err = bar
            .add_service_import(Some(&foo), "foo", "remote2")
            .unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
        // More than one import on the same subject from different accounts is fine.
        let baz = accs.register("baz").unwrap();
        baz.add_service_export("remote1", None).unwrap();
        bar.add_service_import(Some(&baz), "foo", "remote1")
            .unwrap();
        let bat = accs.register("bat").unwrap();
        bat.add_service_export("remote1", None).unwrap();
        bar.add_service_import(Some(&bat), "foo", "remote1")
            .unwrap();
        let err = bar
            .add_service_import(Some(&baz), "foo", "remote1")
            .unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
    }

    /// `import` imports `test` from `foo` and `bar` (with `prefixes`), subscribes to
    /// `sub`, and sees one message from each.
    fn multiple_stream_imports(prefixes: [&str; 2], sub: &str, check_duplicate: bool) {
        let s = accounts_server(&["foo", "bar", "import"]);
        let (foo, bar, imp) = (
            account(&s, "foo"),
            account(&s, "bar"),
            account(&s, "import"),
        );
        foo.add_stream_export("test", None).unwrap();
        bar.add_stream_export("test", None).unwrap();
        imp.add_stream_import(&foo, "test", prefixes[0]).unwrap();
        if check_duplicate {
            assert_eq!(
                imp.add_stream_import(&foo, "test", prefixes[0]),
                Err(ImportError::StreamImportDuplicate)
            );
        }
        imp.add_stream_import(&bar, "test", prefixes[1]).unwrap();
        let mut cimport = client(&s, "import");
        parse(&mut cimport, &format!("SUB {sub} 1\r\n"));
        let mut cfoo = client(&s, "foo");
        let mut cbar = client(&s, "bar");
        cbar.send("PUB test 9\r\nhello-bar\r\n");
        assert_eq!(cimport.expect_msgs(1)[0].payload, "hello-bar");
        cfoo.send("PUB test 9\r\nhello-foo\r\n");
        assert_eq!(cimport.expect_msgs(1)[0].payload, "hello-foo");
    }

    port!("server/accounts_test.go::TestMultipleStreamImportsWithSameSubjectDifferentPrefix" => multiple_stream_imports_with_same_subject_different_prefix);
    fn multiple_stream_imports_with_same_subject_different_prefix() {
        multiple_stream_imports(["foo", "bar"], "*.test", false);
    }

    port!("server/accounts_test.go::TestMultipleStreamImportsWithSameSubject" => multiple_stream_imports_with_same_subject);
    fn multiple_stream_imports_with_same_subject() {
        multiple_stream_imports(["", ""], "test", true);
    }

    port!("server/accounts_test.go::TestAccountServiceImportNoResponders" => account_service_import_no_responders);
    fn account_service_import_no_responders() {
        let (s, _) = run_server_with_config(conf_path(
            r#"
				port: -1
				accounts: {
					accExp: {
						users: [{user: accExp, password: accExp}]
						exports: [{service: "foo"}]
					}
					accImp: {
						users: [{user: accImp, password: accImp}]
						imports: [{service: {account: accExp, subject: "foo"}}]
					}
				}
			"#,
        ));
        // A requester (headers and no_responders, as the Go client) without responders.
        let (mut nc, _) = connect_with(
            &s,
            r#"{"user":"accImp","pass":"accImp","headers":true,"no_responders":true}"#,
        );
        nc.expect(&re::PONG);
        nc.send("SUB _INBOX.x 1\r\nPUB foo _INBOX.x 7\r\nrequest\r\n");
        let got = nc.expect(&re::HMSG);
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.contains("NATS/1.0 503"),
            "expected no responders: {text}"
        );
    }

    port!("server/accounts_test.go::TestAccountImportOwnExport" => account_import_own_export);
    fn account_import_own_export() {
        let (s, _) = run_server_with_config(conf_path(
            r#"
		port: -1
		accounts: {
			A: {
			exports: [
				{ service: echo, accounts: [A], latency: { subject: "latency.echo" } }
			],
			imports: [
				{ service: { account: A, subject: echo } }
			]

			users: [
				{ user: user, pass: pass }
			]
			}
		}
	"#,
        ));
        let (mut responder, _) = connect_with(&s, r#"{"user":"user","pass":"pass"}"#);
        responder.expect(&re::PONG);
        parse(&mut responder, "SUB echo 1\r\n");
        let (mut nc, _) = connect_with(&s, r#"{"user":"user","pass":"pass"}"#);
        nc.expect(&re::PONG);
        parse(&mut nc, "SUB _INBOX.own 1\r\n");
        nc.send("PUB echo _INBOX.own 7\r\nrequest\r\n");
        // (Directly and through the import: answer the first request that arrived.)
        let first = regex::bytes::Regex::new(r"MSG echo 1 (\S+) 7\r\n").unwrap();
        let got = responder.expect(&first);
        let reply = first.captures(&got).unwrap()[1].to_vec();
        let reply = String::from_utf8(reply).unwrap();
        responder.send(&format!("PUB {reply} 0\r\n\r\n"));
        let reply = nc.expect_msgs(1).remove(0);
        assert_eq!(reply.subject, "_INBOX.own");
    }
}
