//! More ports of `server/accounts_test.go`: messages crossing accounts through stream and
//! service imports on one server (config-file accounts, no JWT), and the import facts
//! Go's tests read from the accounts. Clients speak the protocol by hand.

#![allow(clippy::disallowed_names)] // Go's names: foo, bar, baz

use super::{conf_path, connect_with};
use natsd::account::Account;
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{check_for, re, run_server, run_server_with_config, RawConn};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A client of `user` (password `pass`), connected (its PONG read).
fn user_conn(s: &BackgroundServer, user: &str, pass: &str) -> RawConn {
    let (mut c, _) = connect_with(s, &format!(r#"{{"user":"{user}","pass":"{pass}"}}"#));
    c.expect(&re::PONG);
    c
}

/// Sends `ops` and waits until the server processed them (Go's flush).
fn parse(c: &mut RawConn, ops: &str) {
    c.send(&format!("{ops}PING\r\n"));
    c.expect(&re::PONG);
}

/// Answers the one request `c` receives with `answer`; returns the request's subject.
fn respond_once(c: &mut RawConn, answer: &str) -> String {
    let m = c.expect_msgs(1).remove(0);
    assert!(!m.reply.is_empty(), "request without a reply: {m:?}");
    c.send(&format!("PUB {} {}\r\n{answer}\r\n", m.reply, answer.len()));
    m.subject
}

port!("server/accounts_test.go::TestMultiAccountsIsolation" => multi_accounts_isolation);
fn multi_accounts_isolation() {
    let (s, _) = run_server_with_config(conf_path(
        r#"
	listen: 127.0.0.1:-1
	accounts: {
		PUBLIC: {
			users:[{user: public, password: public}]
			exports: [
			  { stream: orders.client.stream.> }
			  { stream: orders.client2.stream.> }
			]
		}
		CLIENT: {
			users:[{user: client, password: client}]
			imports: [
			  { stream: { account: PUBLIC, subject: orders.client.stream.> }}
			]
		}
		CLIENT2: {
			users:[{user: client2, password: client2}]
			imports: [
			  { stream: { account: PUBLIC, subject: orders.client2.stream.> }}
			]
		}
	}"#,
    ));
    let mut clientnc = user_conn(&s, "client", "client");
    parse(&mut clientnc, "SUB orders.> 1\r\n");
    let mut client2nc = user_conn(&s, "client2", "client2");
    parse(&mut client2nc, "SUB orders.> 1\r\n");
    let mut publicnc = user_conn(&s, "public", "public");
    // Only CLIENT imports orders.client.stream.>.
    publicnc.send("PUB orders.client.stream.entry 5\r\ntest1\r\n");
    assert_eq!(clientnc.expect_msgs(1)[0].payload, "test1");
    client2nc.expect_nothing();

    parse(&mut clientnc, "UNSUB 1\r\n");
    parse(&mut client2nc, "UNSUB 1\r\n");
    parse(&mut clientnc, "SUB orders.*.stream.entry 2\r\n");
    parse(&mut client2nc, "SUB orders.*.stream.entry 2\r\n");
    parse(
        &mut publicnc,
        "PUB orders.client.stream.entry 5\r\ntest2\r\n",
    );
    assert_eq!(clientnc.expect_msgs(1)[0].payload, "test2");
    client2nc.expect_nothing();
}

/// A server with the accounts `$foo` and `$bar` (Go's `simpleAccountServer`), each with
/// a user of its name (password: the name).
fn simple_account_server() -> (BackgroundServer, Arc<Account>, Arc<Account>) {
    let names = ["$foo", "$bar"];
    let s = run_server(natsd::config::Options {
        accounts: names
            .iter()
            .map(|n| natsd::account::AccountConfig {
                name: n.to_string(),
                ..Default::default()
            })
            .collect(),
        users: names
            .iter()
            .map(|n| natsd::auth::User {
                username: n.to_string(),
                password: n.to_string(),
                account: n.to_string(),
                ..Default::default()
            })
            .collect(),
        ..ported::support::default_test_options()
    });
    let acc = |n: &str| s.shared().accounts.lookup(n).unwrap();
    let (foo, bar) = (acc("$foo"), acc("$bar"));
    (s, foo, bar)
}

/// Subscriptions of client connections in `acc` (the system account's internal
/// subscriptions are not in Go's `simpleAccountServer`, which has none).
fn client_subs(acc: &Account) -> usize {
    acc.sublist
        .all_filtered(&|s| s.0.client.kind() != natsd::protocol::parser::ConnKind::System)
        .len()
}

port!("server/accounts_test.go::TestShadowSubsCleanupOnClientClose" => shadow_subs_cleanup_on_client_close);
fn shadow_subs_cleanup_on_client_close() {
    let (s, foo, bar) = simple_account_server();
    foo.add_stream_export("foo", None).unwrap();
    bar.add_stream_import(&foo, "foo", "import").unwrap();
    let mut cbar = user_conn(&s, "$bar", "$bar");
    parse(&mut cbar, "SUB import.foo 1\r\nSUB import.foo bar 2\r\n");
    // Go counts foo's sublist: the two shadows of bar's subscriptions. natsd keeps no
    // shadows (it routes imports at publish time); the count is the same fact.
    let foo_count = || client_subs(&foo) + foo.num_shadow_subscriptions();
    assert_eq!(
        foo_count(),
        2,
        "Expected 2 shadowed subscriptions on fooAcc"
    );
    drop(cbar);
    check_for(
        Duration::from_secs(1),
        Duration::from_millis(10),
        || match foo_count() {
            0 => Ok(()),
            n => Err(format!("Number of shadow subscriptions is {n}")),
        },
    );
}

port!("server/accounts_test.go::TestAccountRemoveServiceImport" => account_remove_service_import);
fn account_remove_service_import() {
    let s = run_server(ported::support::default_test_options());
    let accs = &s.shared().accounts;
    let foo = accs.register("foo").unwrap();
    foo.add_service_export("remote1", None).unwrap();
    let bar = accs.register("bar").unwrap();
    bar.add_service_import(Some(&foo), "foo", "remote1")
        .unwrap();
    let baz = accs.register("baz").unwrap();
    baz.add_service_export("remote1", None).unwrap();
    bar.add_service_import(Some(&baz), "foo", "remote1")
        .unwrap();
    let bat = accs.register("bat").unwrap();
    bat.add_service_export("remote1", None).unwrap();
    bar.add_service_import(Some(&bat), "foo", "remote1")
        .unwrap();

    // Go's getServiceImportForAccountLocked: bar's import on `subj` from account `acc`.
    let check_get_si = |acc: &str, subj: &str| {
        bar.service_imports().iter().any(|si| {
            si.from == subj
                && si.account_name == acc
                && si.account.upgrade().is_some_and(|a| a.name == acc)
        })
    };
    let check = |want: [(&str, bool); 3]| {
        for (acc, present) in want {
            assert_eq!(check_get_si(acc, "foo"), present, "import from {acc}");
        }
    };
    assert!(!check_get_si("nonsense", "foo"));
    assert!(!check_get_si("foo", "nonsense"));
    check([("foo", true), ("baz", true), ("bat", true)]);

    // Removing what does not exist (by subject or by account) changes nothing.
    bar.remove_service_import("nonsense", "foo");
    check([("foo", true), ("baz", true), ("bat", true)]);
    bar.remove_service_import("baz", "nonsense");
    check([("foo", true), ("baz", true), ("bat", true)]);

    bar.remove_service_import("baz", "foo");
    check([("foo", true), ("baz", false), ("bat", true)]);
    bar.remove_service_import("bat", "foo");
    check([("foo", true), ("baz", false), ("bat", false)]);

    // With one left, account and subject are still both checked.
    bar.remove_service_import("nonsense", "foo");
    check([("foo", true), ("baz", false), ("bat", false)]);
    bar.remove_service_import("foo", "nonsense");
    check([("foo", true), ("baz", false), ("bat", false)]);

    bar.remove_service_import("foo", "foo");
    check([("foo", false), ("baz", false), ("bat", false)]);
    // Nothing is left on the subject.
    let left = bar
        .service_imports()
        .iter()
        .filter(|si| si.from == "foo")
        .count();
    assert_eq!(left, 0);
}

port!("server/accounts_test.go::TestAccountCheckStreamImportsEqual" => account_check_stream_imports_equal);
fn account_check_stream_imports_equal() {
    // Bare accounts, registered nowhere (Go's NewAccount).
    let new_account = |name: &str| Arc::new(Account::new(name, "", true));
    let foo = new_account("foo");
    foo.add_stream_export(">", None).unwrap();
    let bar = new_account("bar");
    bar.add_stream_import(&foo, "foo", "myPrefix").unwrap();
    let baz = new_account("baz");
    baz.add_stream_import(&foo, "foo", "myPrefix").unwrap();
    assert!(
        bar.stream_imports_equal(&baz),
        "Expected stream imports to be the same"
    );

    baz.add_stream_import(&foo, "foo.>", "").unwrap();
    assert!(
        !bar.stream_imports_equal(&baz),
        "Expected stream imports to be different"
    );
    bar.add_stream_import(&foo, "foo.>", "").unwrap();
    assert!(
        bar.stream_imports_equal(&baz),
        "Expected stream imports to be the same"
    );

    // Another account named "foo": compared by name, not identity.
    let new_foo = new_account("foo");
    new_foo.add_stream_export(">", None).unwrap();
    let bat = new_account("bat");
    bat.add_stream_import(&new_foo, "foo", "myPrefix").unwrap();
    bat.add_stream_import(&new_foo, "foo.>", "").unwrap();
    assert!(
        bat.stream_imports_equal(&bar),
        "Expected stream imports to be the same"
    );
    assert!(
        bat.stream_imports_equal(&baz),
        "Expected stream imports to be the same"
    );

    // A different "from".
    let exp = new_account("new_acc");
    exp.add_stream_export(">", None).unwrap();
    let a = new_account("a");
    a.add_stream_import(&exp, "bar", "").unwrap();
    let b = new_account("b");
    b.add_stream_import(&exp, "baz", "").unwrap();
    assert!(
        !a.stream_imports_equal(&b),
        "Expected stream imports to be different"
    );

    // A different prefix.
    let a = new_account("a");
    a.add_stream_import(&exp, "bar", "prefix").unwrap();
    let b = new_account("b");
    b.add_stream_import(&exp, "bar", "diff_prefix").unwrap();
    assert!(
        !a.stream_imports_equal(&b),
        "Expected stream imports to be different"
    );

    // A different exporting account name.
    let exp = new_account("diff_name");
    exp.add_stream_export(">", None).unwrap();
    let b = new_account("b");
    b.add_stream_import(&exp, "bar", "prefix").unwrap();
    assert!(
        !a.stream_imports_equal(&b),
        "Expected stream imports to be different"
    );
}

port!("server/accounts_test.go::TestAccountMultipleServiceImportsWithSameSubjectFromDifferentAccounts" => account_multiple_service_imports_with_same_subject_from_different_accounts);
fn account_multiple_service_imports_with_same_subject_from_different_accounts() {
    let (s, _) = run_server_with_config(conf_path(
        r#"
		accounts: {
			SVC-E: {
				users: [ { user:svc-e, password:svc-e } ]
				exports: [ { accounts: [CLIENTS], service: "SvcReq.>", response_type: singleton } ]
			}

			SVC-W: {
				users: [ { user:svc-w, password:svc-w } ]
				exports: [ { accounts: [CLIENTS], service: "SvcReq.>", response_type: singleton } ]
			}

			CLIENTS: {
				users: [ { user:cl, password:cl } ]
				imports: [
					{ service: { account: SVC-E, subject: "SvcReq.>" } }
					{ service: { account: SVC-W, subject: "SvcReq.>" } }
				]
			}
		}
		listen: "127.0.0.1:-1"
	"#,
    ));
    let mut nc_e = user_conn(&s, "svc-e", "svc-e");
    parse(&mut nc_e, "SUB SvcReq.> 1\r\n");
    let mut nc_w = user_conn(&s, "svc-w", "svc-w");
    parse(&mut nc_w, "SUB SvcReq.> 1\r\n");
    let mut nc = user_conn(&s, "cl", "cl");
    parse(&mut nc, "SUB _INBOX.same 1\r\n");
    nc.send("PUB SvcReq.Test _INBOX.same 4\r\ntest\r\n");
    respond_once(&mut nc_e, "From SVC-E");
    respond_once(&mut nc_w, "From SVC-W");
    let got: BTreeSet<String> = nc.expect_msgs(2).into_iter().map(|m| m.payload).collect();
    assert_eq!(
        got,
        BTreeSet::from(["From SVC-E".to_string(), "From SVC-W".to_string()]),
        "Unexpected responses"
    );
}

port!("server/accounts_test.go::TestAccountImportsWithWildcardSupport" => account_imports_with_wildcard_support);
fn account_imports_with_wildcard_support() {
    let (s, _) = run_server_with_config(conf_path(
        r#"
	port: -1
    accounts {
      foo {
        users = [{user: derek, password: foo}]
        exports = [
          { service: "request.*" }
          { stream: "events.>" }
          { stream: "info.*.*.>" }
        ]
      }
      bar {
        users = [{user: ivan, password: bar}]
        imports = [
          { service: {account: "foo", subject:"request.*"}, to:"my.request.*"}
          { stream:  {account: "foo", subject:"events.>"}, to:"foo.events.>"}
          { stream:  {account: "foo", subject:"info.*.*.>"}, to:"foo.info.$2.$1.>"}
        ]
      }
    }
    "#,
    ));
    let mut nc_foo = user_conn(&s, "derek", "foo");
    let mut nc_bar = user_conn(&s, "ivan", "bar");
    parse(&mut nc_foo, "SUB request.* t22 1\r\n");

    // The service import.
    parse(&mut nc_bar, "SUB _INBOX.wc 1\r\n");
    nc_bar.send("PUB my.request.22 _INBOX.wc 4\r\nyes?\r\n");
    let subject = respond_once(&mut nc_foo, "yes!");
    assert_eq!(
        subject, "request.22",
        "Expected literal subject for request"
    );
    assert_eq!(nc_bar.expect_msgs(1)[0].payload, "yes!");

    // The stream imports.
    parse(&mut nc_bar, "SUB foo.events.* 2\r\nSUB foo.info.> 3\r\n");
    // (One at a time: two empty MSGs back to back defeat the MSG pattern, Go's too.)
    parse(&mut nc_foo, "PUB events.22 0\r\n\r\n");
    let m = nc_bar.expect_msgs(1).remove(0);
    assert_eq!(m.sid, "2");
    assert_eq!(
        m.subject, "foo.events.22",
        "Incorrect subject for stream import"
    );
    parse(&mut nc_foo, "PUB info.11.22.bar 0\r\n\r\n");
    let m = nc_bar.expect_msgs(1).remove(0);
    assert_eq!(m.sid, "3");
    assert_eq!(
        m.subject, "foo.info.22.11.bar",
        "Incorrect subject for stream import"
    );
    // One message each.
    nc_bar.expect_nothing();
}

port!("server/accounts_test.go::TestAccountImportsWithWildcardSupportStreamAndService" => account_imports_with_wildcard_support_stream_and_service);
fn account_imports_with_wildcard_support_stream_and_service() {
    let (s, _) = run_server_with_config(conf_path(
        r#"
	port: -1
    accounts {
      foo {
        users = [{user: derek, password: foo}]
        exports = [
          { service: "$request.*.$in.*.>" }
          { stream: "$events.*.$in.*.>" }
        ]
      }
      bar {
        users = [{user: ivan, password: bar}]
        imports = [
          { service: {account: "foo", subject:"$request.*.$in.*.>"}, to:"my.request.$2.$1.>"}
          { stream:  {account: "foo", subject:"$events.*.$in.*.>"}, to:"my.events.$2.$1.>"}
        ]
      }
    }
    "#,
    ));
    let mut nc_foo = user_conn(&s, "derek", "foo");
    let mut nc_bar = user_conn(&s, "ivan", "bar");
    parse(&mut nc_foo, "SUB $request.> 1\r\n");
    parse(&mut nc_bar, "SUB _INBOX.wcss 1\r\n");
    nc_bar.send("PUB my.request.1.2.bar _INBOX.wcss 4\r\nyes?\r\n");
    let subject = respond_once(&mut nc_foo, "yes!");
    assert_eq!(
        subject, "$request.2.$in.1.bar",
        "Expected literal subject for request"
    );
    assert_eq!(nc_bar.expect_msgs(1)[0].payload, "yes!");

    parse(&mut nc_bar, "SUB my.events.> 2\r\n");
    nc_foo.send("PUB $events.1.$in.2.bar 0\r\n\r\n");
    let m = nc_bar.expect_msgs(1).remove(0);
    assert_eq!(
        m.subject, "my.events.2.1.bar",
        "Expected literal subject for request"
    );
}

/// Go's `importSubscriptionOverlapTemplate`.
fn import_subscription_overlap_conf(export: &str, import: &str, mapping: &str) -> String {
    format!(
        r#"
listen: 127.0.0.1:-1
accounts: {{
  ACCOUNT_X: {{
	users: [
	  {{user: publisher}}
	]
	exports: [
	  {{stream: {export}}}
	]
  }},
  ACCOUNT_Y: {{
	users: [
	  {{user: subscriber}}
	]
	imports: [
	  {{stream: {{account: ACCOUNT_X, subject: {import} }}, {mapping}}}
	]
  }}
}}"#
    )
}

/// For each subscription subject, one message published as `test_subject` by the
/// publisher reaches the subscriber (on `want_subject`, when given); each
/// subscription auto-unsubscribes after one message.
fn check_partial_overlap(conf: &str, subjects: &[&str], test_subject: &str, want: Option<&str>) {
    let (s, _) = run_server_with_config(conf_path(conf));
    let mut nc_x = user_conn(&s, "publisher", "");
    let mut nc_y = user_conn(&s, "subscriber", "");
    for (i, subj) in subjects.iter().enumerate() {
        let sid = i + 1;
        parse(&mut nc_y, &format!("SUB {subj} {sid}\r\nUNSUB {sid} 1\r\n"));
        nc_x.send(&format!("PUB {test_subject} 5\r\nhello\r\n"));
        let m = nc_y.expect_msgs(1).remove(0);
        assert_eq!(m.payload, "hello", "subscription {subj}");
        assert_eq!(m.sid, sid.to_string(), "subscription {subj}");
        if let Some(want) = want {
            assert_eq!(m.subject, want, "subscription {subj}");
        }
    }
}

port!("server/accounts_test.go::TestImportSubscriptionPartialOverlapWithPrefix" => import_subscription_partial_overlap_with_prefix);
fn import_subscription_partial_overlap_with_prefix() {
    check_partial_overlap(
        &import_subscription_overlap_conf(">", ">", "prefix: myprefix"),
        &[
            ">",
            "myprefix.*",
            "myprefix.>",
            "myprefix.test",
            "*.>",
            "*.*",
            "*.test",
        ],
        "test",
        None,
    );
}

port!("server/accounts_test.go::TestImportSubscriptionPartialOverlapWithTransform" => import_subscription_partial_overlap_with_transform);
fn import_subscription_partial_overlap_with_transform() {
    check_partial_overlap(
        &import_subscription_overlap_conf("*.*.>", "*.*.>", "to: myprefix.$2.$1.>"),
        &[
            ">",
            "*.*.*.>",
            "*.2.*.>",
            "*.*.1.>",
            "*.2.1.>",
            "*.*.*.*",
            "*.2.1.*",
            "*.*.*.test",
            "*.*.1.test",
            "*.2.*.test",
            "*.2.1.test",
            "myprefix.*.*.*",
            "myprefix.>",
            "myprefix.*.>",
            "myprefix.*.*.>",
            "myprefix.2.>",
            "myprefix.2.1.>",
            "myprefix.*.1.>",
            "myprefix.2.*.>",
            "myprefix.2.1.*",
            "myprefix.*.*.test",
            "myprefix.2.1.test",
        ],
        "1.2.test",
        Some("myprefix.2.1.test"),
    );
}

port!("server/accounts_test.go::TestAccountImportCycle" => account_import_cycle);
fn account_import_cycle() {
    let tmpl = |export: &str, import: &str| {
        format!(
            r#"
	port: -1
	accounts: {{
		CP: {{
			users: [
				{{user: cp, password: cp}},
			],
			exports: [
				{{service: "q1.>", response_type: Singleton}},
				{{service: "q2.>", response_type: Singleton}},
				{export}
			],
		}},
		A: {{
			users: [
				{{user: a, password: a}},
			],
			imports: [
				{{service: {{account: CP, subject: "q1.>"}}}},
				{{service: {{account: CP, subject: "q2.>"}}}},
				{import}
			]
		}},
	}}
	"#
        )
    };
    let path = conf_path(&tmpl("", ""));
    let (s, _) = run_server_with_config(&path);
    let mut nc_cp = user_conn(&s, "cp", "cp");
    let mut nc_a = user_conn(&s, "a", "a");
    parse(&mut nc_cp, "SUB q1.> 1\r\n");
    parse(&mut nc_a, "SUB q2.inbox 1\r\n");
    let mut req = |nc_cp: &mut RawConn| {
        parse(&mut nc_a, "PUB q1.a q2.inbox 4\r\ntest\r\n");
        respond_once(nc_cp, "reply");
        assert_eq!(nc_a.expect_msgs(1)[0].payload, "reply");
    };
    req(&mut nc_cp);

    std::fs::write(
        &path,
        tmpl(
            r#"{service: "q3.>", response_type: Singleton},"#,
            r#"{service: {account: CP, subject: "q3.>"}},"#,
        ),
    )
    .unwrap();
    natsd::reload::reload(s.shared()).unwrap_or_else(|e| panic!("reload: {e}"));
    req(&mut nc_cp);
}

port!("server/accounts_test.go::TestAccountServiceAndStreamExportDoubleDelivery" => account_service_and_stream_export_double_delivery);
fn account_service_and_stream_export_double_delivery() {
    let (s, _) = run_server_with_config(conf_path(
        r#"
		listen: 127.0.0.1:-1
		accounts: {
			tenant1: {
				jetstream: enabled
				users: [ { user: "one", password: "one" } ]
				exports: [
					{ stream: "DW.>" }
					{ service: "DW.>" }
				]
 			}
			global: {
				jetstream: enabled
				users: [ { user: "global", password: "global" } ]
				imports: [
					{ stream: { account: tenant1, subject: "DW.>" }, prefix: tenant1 }
					{ service: { account: tenant1, subject: "DW.>" }, to: "tenant1.DW.>" }
				]
			}
			$SYS { users = [ { user: "admin", pass: "s3cr3t!" } ] }
		}
	"#,
    ));
    let mut nc = user_conn(&s, "one", "one");
    parse(&mut nc, "SUB > 1\r\n");
    nc.send("PUB DW.test.123 4\r\ntest\r\n");
    assert_eq!(nc.expect_msgs(1)[0].subject, "DW.test.123");
    // Go counts the messages 200 ms later: still one.
    nc.expect_nothing_for(Duration::from_millis(200));
}

/// A connection that reads MSGs as they come (answering PINGs), for traffic too heavy
/// to wait for message by message.
struct MsgStream {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl MsgStream {
    fn connect(s: &BackgroundServer, user: &str, pass: &str) -> MsgStream {
        let mut stream = TcpStream::connect(s.addr).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .write_all(
                format!(
                    "CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"{pass}\"}}\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        MsgStream {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends `ops` and waits for the PONG of a PING sent behind them.
    fn flush(&mut self, ops: &str) {
        self.stream
            .write_all(format!("{ops}PING\r\n").as_bytes())
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.buf.windows(6).any(|w| w == b"PONG\r\n") {
            assert!(Instant::now() < deadline, "no PONG");
            self.read(Duration::from_millis(100));
        }
        self.buf.clear();
    }

    /// Reads what arrives within `wait`; false if nothing did.
    fn read(&mut self, wait: Duration) -> bool {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut tmp = [0u8; 65536];
        match self.stream.read(&mut tmp) {
            Ok(0) => panic!("connection closed"),
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
            Err(_) => false,
        }
    }

    /// The replies of the complete MSGs read so far (empty for none); PINGs are
    /// answered, anything else is dropped.
    fn take_msgs(&mut self) -> Vec<String> {
        let mut replies = Vec::new();
        while let Some(eol) = self.buf.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&self.buf[..eol]).into_owned();
            if let Some(args) = line.strip_prefix("MSG ") {
                let args: Vec<&str> = args.split(' ').collect();
                let size: usize = args[args.len() - 1].parse().unwrap();
                let end = eol + 2 + size + 2;
                if self.buf.len() < end {
                    break;
                }
                replies.push(if args.len() == 4 {
                    args[2].to_string()
                } else {
                    String::new()
                });
                self.buf.drain(..end);
                continue;
            }
            if line == "PING" {
                self.stream.write_all(b"PONG\r\n").unwrap();
            }
            self.buf.drain(..eol + 2);
        }
        replies
    }
}

port!("server/accounts_test.go::TestAccountReloadServiceImportPanic" => account_reload_service_import_panic);
fn account_reload_service_import_panic() {
    let path = conf_path(
        r#"
		listen: 127.0.0.1:-1
		accounts {
			A {
				users = [ { user: "a", pass: "p" } ]
				exports [ { service: "HELP" } ]
			}
			B {
				users = [ { user: "b", pass: "p" } ]
				imports [ { service: { account: A, subject: "HELP"} } ]
			}
			$SYS { users = [ { user: "admin", pass: "s3cr3t!" } ] }
		}
	"#,
    );
    let (s, _) = run_server_with_config(&path);
    let stop = Arc::new(AtomicBool::new(false));
    // Responder and counter run until all responses are counted.
    let counting = Arc::new(AtomicBool::new(true));

    // The responder for HELP in A answers everything it gets.
    let mut responder = MsgStream::connect(&s, "a", "p");
    responder.flush("SUB HELP 1\r\n");
    let responder = {
        let counting = counting.clone();
        std::thread::spawn(move || {
            while counting.load(Ordering::Acquire) {
                responder.read(Duration::from_millis(50));
                let mut out = Vec::new();
                for reply in responder.take_msgs() {
                    out.extend_from_slice(format!("PUB {reply} 2\r\nOK\r\n").as_bytes());
                }
                if !out.is_empty() {
                    responder.stream.write_all(&out).unwrap();
                }
            }
        })
    };

    // B's requests go out from one connection while another one of B counts the
    // responses (Go uses one connection for both).
    let reply = "_INBOX.reload.panic";
    let mut listener = MsgStream::connect(&s, "b", "p");
    listener.flush(&format!("SUB {reply} 1\r\n"));
    let responses = Arc::new(AtomicU64::new(0));
    let counter = {
        let (responses, counting) = (responses.clone(), counting.clone());
        std::thread::spawn(move || {
            while counting.load(Ordering::Acquire) {
                listener.read(Duration::from_millis(50));
                let n = listener.take_msgs().len() as u64;
                responses.fetch_add(n, Ordering::AcqRel);
            }
        })
    };
    let mut requester = MsgStream::connect(&s, "b", "p");
    requester.flush("");
    let requests = Arc::new(AtomicU64::new(0));
    let publisher = {
        let (stop, requests) = (stop.clone(), requests.clone());
        std::thread::spawn(move || {
            // Batches of requests, as a client's buffered writes send them.
            let batch = format!("PUB HELP {reply} 4\r\nHELP\r\n").repeat(20);
            while !stop.load(Ordering::Acquire) {
                requester.stream.write_all(batch.as_bytes()).unwrap();
                requests.fetch_add(20, Ordering::AcqRel);
                // Keep the requester's socket drained (it gets no messages; PINGs only).
                if requester.read(Duration::from_millis(1)) {
                    requester.take_msgs();
                }
            }
            requester
        })
    };

    for _ in 0..1000 {
        natsd::reload::reload(s.shared()).unwrap_or_else(|e| panic!("reload: {e}"));
    }
    stop.store(true, Ordering::Release);
    let _requester = publisher.join().unwrap();

    let total = requests.load(Ordering::Acquire);
    check_for(Duration::from_secs(20), Duration::from_millis(250), || {
        let got = responses.load(Ordering::Acquire);
        if got == total {
            Ok(())
        } else {
            Err(format!(
                "Have not received all responses, want {total} got {got}"
            ))
        }
    });
    counting.store(false, Ordering::Release);
    counter.join().unwrap();
    responder.join().unwrap();
}
