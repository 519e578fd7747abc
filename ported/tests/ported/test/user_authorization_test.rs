//! Ports of `test/user_authorization_test.go`: per-user publish/subscribe permissions
//! (allow/deny, queue groups, default permissions, response permissions).

#![allow(clippy::unwrap_used)] // tests fail by panicking

use super::auth_test::{do_auth_connect, expect_auth_required};
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{check_msg, load_config, re, run_server, RawConn};
use regex::bytes::Regex;
use std::sync::LazyLock;
use std::time::Duration;

const DEFAULT_PASS: &str = "foo";

static PERM_ERR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A\-ERR\s+'Permissions Violation([^\r\n]+)\r\n").unwrap());

/// Go's `test/configs/authorization.conf`, on a random port.
const AUTHORIZATION_CONF: &str = r#"host: 127.0.0.1
port: -1

authorization {
  # Authorizations
  include "auths.conf"

  # Just foo for testing
  PASS: $2a$04$P/.bd.7unw9Ew7yWJqXsl.f4oNRLQGvadEL2YnqQXbbb.IVQajRdK

  # Users listed with permissions.
  users = [
    {user: alice, password: $PASS, permissions: $ADMIN}
    {user: bob,   password: $PASS, permissions: $REQUESTOR}
    {user: bench, password: $PASS, permissions: $BENCH}
    {user: joe,   password: $PASS}
    {user: ns, password: $PASS, permissions: $NEW_STYLE}
    {user: ns-pub, password: $PASS, permissions: $NS_PUB}
    {user: bench-deny, password: $PASS, permissions: $BENCH_DENY}
    {user: svca, password: $PASS, permissions: $MY_SERVICE}
    {user: svcb, password: $PASS, permissions: $MY_STREAM_SERVICE}
  ]
}
"#;

/// Go's `test/configs/auths.conf`, included by the file above.
const AUTHS_CONF: &str = r#"# Our role based permissions.

# Admin can do anything.
ADMIN = {
  publish = ">"
  subscribe = ">"
}

# Can do requests on req.foo or req.bar, and subscribe to anything
# that is a response, e.g. _INBOX.*
#
# Notice that authorization filters can be singletons or arrays.

REQUESTOR = {
  publish = ["req.foo", "req.bar"]
  subscribe = "_INBOX.*"
}

# Default permissions if none presented. e.g. Joe below.
DEFAULT_PERMISSIONS = {
   publish = "SANDBOX.*"
   subscribe = ["PUBLIC.>", "_INBOX.>"]
}

# This is to benchmark pub performance.
BENCH = {
   publish = "a"
}

# New Style Permissions

NEW_STYLE = {
  publish = {
    allow = "*.*"
    deny = ["SYS.*", "bar.baz", "foo.*"]
  }
  subscribe = {
    allow = ["foo.*", "SYS.TEST.>"]
    deny = ["foo.baz", "SYS.*"]
  }
}

NS_PUB = {
  publish = "foo.baz"
  subscribe = "foo.baz"
}

BENCH_DENY = {
   subscribe = {
    allow = ["foo", "*"]
    deny = "foo.bar"
  }
}

# This is for services where you only want
# responses to reply subjects to be allowed.
MY_SERVICE = {
    subscribe = "my.service.req"
    publish_allow_responses: true
  }

# This is a more detailed example where responses
# could be streams and you want to set the TTL
# and maximum allowed.
MY_STREAM_SERVICE = {
    subscribe = "my.service.req"
    allow_responses = {max: 10, ttl: "50ms"}
}
"#;

/// Writes both files into a fresh directory and starts a server with them (Go's
/// `RunServerWithConfig("./configs/authorization.conf")`).
fn run_authorization_server() -> BackgroundServer {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "natsd-user-authz-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("auths.conf"), AUTHS_CONF).unwrap();
    let conf = dir.join("authorization.conf");
    std::fs::write(&conf, AUTHORIZATION_CONF).unwrap();
    run_server(load_config(&conf))
}

fn login(s: &BackgroundServer, user: &str) -> RawConn {
    let mut c = RawConn::connect(s.addr);
    expect_auth_required(&mut c);
    do_auth_connect(&mut c, "", user, DEFAULT_PASS);
    c.expect(&re::OK);
    c
}

port!("test/user_authorization_test.go::TestUserAuthorizationProto" => user_authorization_proto);
fn user_authorization_proto() {
    let srv = run_authorization_server();

    // Alice can do anything, check a few for OK result.
    let mut c = login(&srv, "alice");
    c.send("PUB foo 2\r\nok\r\n");
    c.expect(&re::OK);
    c.send("SUB foo 1\r\n");
    c.expect(&re::OK);
    // Check that _ is ok
    c.send("PUB _ 2\r\nok\r\n");
    c.expect(&re::OK);
    drop(c);

    // Bob is a requestor only, e.g. req.foo, req.bar for publish, subscribe only to INBOXes.
    let mut c = login(&srv, "bob");
    // These should error.
    c.send("SUB foo 1\r\n");
    c.expect(&PERM_ERR);
    c.send("PUB foo 2\r\nok\r\n");
    c.expect(&PERM_ERR);
    // These should work ok.
    c.send("SUB _INBOX.abcd 1\r\n");
    c.expect(&re::OK);
    c.send("PUB req.foo 2\r\nok\r\n");
    c.expect(&re::OK);
    c.send("PUB req.bar 2\r\nok\r\n");
    c.expect(&re::OK);
    drop(c);

    // Joe is a default user
    let mut c = login(&srv, "joe");
    // These should error.
    c.send("SUB foo.bar.* 1\r\n");
    c.expect(&PERM_ERR);
    c.send("PUB foo.bar.baz 2\r\nok\r\n");
    c.expect(&PERM_ERR);
    // These should work ok.
    c.send("SUB _INBOX.abcd 1\r\n");
    c.expect(&re::OK);
    c.send("SUB PUBLIC.abcd 1\r\n");
    c.expect(&re::OK);
    c.send("PUB SANDBOX.foo 2\r\nok\r\n");
    c.expect(&re::OK);
    c.send("PUB SANDBOX.bar 2\r\nok\r\n");
    c.expect(&re::OK);
    // Since only PWC, this should fail (too many tokens).
    c.send("PUB SANDBOX.foo.bar 2\r\nok\r\n");
    c.expect(&PERM_ERR);
    drop(c);

    // This is the new style permissions with allow and deny clauses.
    let mut c = login(&srv, "ns");
    // These should work
    for s in ["SANDBOX.foo", "baz.bar", "baz.foo"] {
        c.send(&format!("PUB {s} 2\r\nok\r\n"));
        c.expect(&re::OK);
    }
    // These should error.
    for s in ["foo", "bar", "foo.bar", "foo.bar.baz", "SYS.1"] {
        c.send(&format!("PUB {s} 2\r\nok\r\n"));
        c.expect(&PERM_ERR);
    }
    // Subscriptions
    // These should work ok.
    c.send("SUB foo.bar 1\r\n");
    c.expect(&re::OK);
    c.send("SUB foo.foo 1\r\n");
    c.expect(&re::OK);
    // These should error.
    c.send("SUB foo 1\r\n");
    c.expect(&PERM_ERR);
    for _ in 0..3 {
        c.send("SUB foo.baz 1\r\n");
        c.expect(&PERM_ERR);
    }
    // Deny clauses for subscriptions need to be able to allow subscriptions on larger
    // scoped wildcards, but prevent delivery of a message whose subject matches a deny
    // clause.
    drop(c);

    let mut c = login(&srv, "ns");
    c.send("SUB foo.* 1\r\n");
    c.expect(&re::OK);
    c.send("SUB foo.* bar 2\r\n");
    c.expect(&re::OK);

    // Now send on foo.baz which should not be received on first client.
    let mut nc = login(&srv, "ns-pub");
    nc.send("PUB foo.baz 2\r\nok\r\n");
    nc.expect(&re::OK);
    // Expect nothing from the wildcard subscription.
    c.expect_nothing();
    c.send("PING\r\n");
    c.expect(&re::PONG);

    // Now create a queue sub on our ns-pub user. We want to test that queue subscribers
    // can be denied and delivery will route around.
    nc.send("SUB foo.baz bar 2\r\n");
    nc.expect(&re::OK);
    // Make sure we always get the message on our queue subscriber. Do this several times
    // since we should select the other subscriber but get permission denied..
    for _ in 0..20 {
        nc.send("PUB foo.baz 2\r\nok\r\n");
        nc.expect(&re::OK);
        nc.expect(&re::MSG);
    }
    drop(c);

    let mut c = login(&srv, "ns");
    c.send("SUB foo.bar 1\r\n");
    c.expect(&re::OK);
    c.send("SUB foo.bar.baz 2\r\n");
    c.expect(&re::ERR);
    c.send("SUB > 3\r\n");
    c.expect(&re::ERR);
    c.send("SUB SYS.> 4\r\n");
    c.expect(&re::ERR);
    c.send("SUB SYS.TEST.foo 5\r\n");
    c.expect(&re::OK);
    c.send("SUB SYS.bar 5\r\n");
    c.expect(&re::ERR);
}

fn expect_request(c: &mut RawConn, reply: &str) {
    let m = c.expect_msgs(1);
    check_msg(&m[0], "my.service.req", "1", reply, "2", "ok");
}

port!("test/user_authorization_test.go::TestUserAuthorizationAllowResponses" => user_authorization_allow_responses);
fn user_authorization_allow_responses() {
    let srv = run_authorization_server();

    // Alice can do anything, so she will be our requestor
    let mut rc = login(&srv, "alice");

    // MY_SERVICE can subscribe to a single request subject but can respond to any reply
    // subject that it receives, but only for one response.
    let mut c = login(&srv, "svca");
    c.send("SUB my.service.req 1\r\n");
    c.expect(&re::OK);
    rc.send("PUB my.service.req resp.bar.22 2\r\nok\r\n");
    rc.expect(&re::OK);
    expect_request(&mut c, "resp.bar.22");
    // This should be allowed
    c.send("PUB resp.bar.22 2\r\nok\r\n");
    c.expect(&re::OK);
    // This should not be allowed
    c.send("PUB resp.bar.33 2\r\nok\r\n");
    c.expect(&re::ERR);
    // This should also not be allowed now since we already sent a response and max is 1.
    c.send("PUB resp.bar.22 2\r\nok\r\n");
    c.expect(&re::ERR);
    drop(c);

    // MY_STREAM_SERVICE can subscribe to a single request subject but can respond to any
    // reply subject that it receives, and send up to 10 responses.
    let mut c = login(&srv, "svcb");
    c.send("SUB my.service.req 1\r\n");
    c.expect(&re::OK);
    // Same rules as above.
    rc.send("PUB my.service.req resp.bar.22 2\r\nok\r\n");
    rc.expect(&re::OK);
    expect_request(&mut c, "resp.bar.22");
    // This should be allowed
    c.send("PUB resp.bar.22 2\r\nok\r\n");
    c.expect(&re::OK);
    // This should not be allowed
    c.send("PUB resp.bar.33 2\r\nok\r\n");
    c.expect(&re::ERR);
    // We should be able to send 9 more here since we are allowed 10 total
    for _ in 0..9 {
        c.send("PUB resp.bar.22 2\r\nok\r\n");
        c.expect(&re::OK);
    }
    // Now this should fail since we already sent 10 responses.
    c.send("PUB resp.bar.22 2\r\nok\r\n");
    c.expect(&re::ERR);

    // Now test timeout.
    rc.send("PUB my.service.req resp.bar.11 2\r\nok\r\n");
    rc.expect(&re::OK);
    expect_request(&mut c, "resp.bar.11");
    std::thread::sleep(Duration::from_millis(100));
    c.send("PUB resp.bar.11 2\r\nok\r\n");
    c.expect(&re::ERR);
}
