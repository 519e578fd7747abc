//! Ports of `server/reload_test.go` (the tests that need a single server).
//!
//! Go's `s.Reload()` is `ServerShared::reload`; rewriting the configuration file and
//! reloading is [`ReloadServer::reload_with`]. Go's `ConfigTime` changes exactly when a
//! reload succeeds; natsd's equivalent fact is the options generation, bumped by each
//! successful reload and by nothing else, together with the options themselves.
//! The Go client (`nats.Connect`) is [`Nc`], a small blocking client that records
//! asynchronous `-ERR`s and whether the server closed the connection.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{check_for, create_conf_file, load_config, run_server};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A server started from a configuration file it can be reloaded from (Go's
/// `runReloadServerWithContent`).
struct ReloadServer {
    srv: BackgroundServer,
    conf: PathBuf,
}

impl ReloadServer {
    fn start(content: &str) -> ReloadServer {
        let conf = create_conf_file(content.as_bytes());
        let srv = run_server(load_config(&conf));
        ReloadServer { srv, conf }
    }

    fn addr(&self) -> SocketAddr {
        self.srv.addr
    }

    /// Rewrites the configuration file (Go's `changeCurrentConfigContentWithNewContent`).
    fn rewrite(&self, content: &str) {
        std::fs::write(&self.conf, content).unwrap();
    }

    fn reload(&self) -> Result<(), String> {
        self.srv.shared().reload().map_err(|e| e.to_string())
    }

    /// Rewrites the file and reloads; the reload must succeed (Go's `reloadUpdateConfig`).
    fn reload_with(&self, content: &str) {
        self.rewrite(content);
        if let Err(e) = self.reload() {
            panic!("Error reloading config: {e}");
        }
    }

    fn generation(&self) -> u64 {
        self.srv.shared().opts_generation()
    }
}

/// How a client authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    User(&'a str, &'a str),
    Token(&'a str),
}

/// A message received by [`Nc`].
#[derive(Debug)]
struct NcMsg {
    sid: String,
    payload: Vec<u8>,
}

/// A blocking NATS client that connects as the Go client does (INFO, CONNECT, PING and
/// wait for PONG; an `-ERR` or a close fails the connect) and then keeps messages,
/// asynchronous errors and the closed state.
struct Nc {
    stream: TcpStream,
    buf: Vec<u8>,
    msgs: VecDeque<NcMsg>,
    errs: VecDeque<String>,
    pongs: usize,
    closed: bool,
}

fn nats_connect(addr: SocketAddr, auth: Auth<'_>) -> Result<Nc, String> {
    let stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let mut nc = Nc {
        stream,
        buf: Vec::new(),
        msgs: VecDeque::new(),
        errs: VecDeque::new(),
        pongs: 0,
        closed: false,
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    while !nc.buf.windows(2).any(|w| w == b"\r\n") {
        if nc.closed || Instant::now() >= deadline {
            return Err("no INFO".into());
        }
        nc.read_more(deadline);
    }
    let i = nc.buf.windows(2).position(|w| w == b"\r\n").unwrap();
    let line = String::from_utf8_lossy(&nc.buf[..i]).into_owned();
    nc.buf.drain(..i + 2);
    if !line.starts_with("INFO ") {
        return Err(format!("expected INFO, got {line:?}"));
    }
    let mut connect = serde_json::json!({
        "verbose": false, "pedantic": false, "tls_required": false, "lang": "rust-test",
        "version": "0.0.0", "protocol": 1, "echo": true, "headers": true,
        "no_responders": true,
    });
    match auth {
        Auth::None => {}
        Auth::User(u, p) => {
            connect["user"] = u.into();
            connect["pass"] = p.into();
        }
        Auth::Token(t) => connect["auth_token"] = t.into(),
    }
    nc.send(&format!("CONNECT {connect}\r\nPING\r\n"))?;
    while nc.pongs == 0 {
        if let Some(e) = nc.errs.pop_front() {
            return Err(format!("nats: {e}"));
        }
        if nc.closed {
            return Err("EOF".into());
        }
        if Instant::now() >= deadline {
            return Err("nats: timeout".into());
        }
        nc.pump(deadline);
    }
    Ok(nc)
}

impl Nc {
    fn send(&mut self, s: &str) -> Result<(), String> {
        self.stream
            .write_all(s.as_bytes())
            .map_err(|e| e.to_string())
    }

    fn read_more(&mut self, deadline: Instant) {
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let _ = self.stream.set_read_timeout(Some(wait));
        let mut tmp = [0u8; 16384];
        match self.stream.read(&mut tmp) {
            Ok(0) => self.closed = true,
            Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => self.closed = true,
        }
    }

    /// Takes one complete line (and a MSG's payload) off the buffer.
    fn parse_one(&mut self) -> bool {
        let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") else {
            return false;
        };
        let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
        if let Some(rest) = line.strip_prefix("MSG ") {
            let parts: Vec<&str> = rest.split(' ').collect();
            let size: usize = parts.last().and_then(|s| s.parse().ok()).unwrap_or(0);
            let start = i + 2;
            if self.buf.len() < start + size + 2 {
                return false;
            }
            let payload = self.buf[start..start + size].to_vec();
            self.buf.drain(..start + size + 2);
            self.msgs.push_back(NcMsg {
                sid: parts.get(1).unwrap_or(&"").to_string(),
                payload,
            });
            return true;
        }
        self.buf.drain(..i + 2);
        if line == "PING" {
            let _ = self.send("PONG\r\n");
        } else if line == "PONG" {
            self.pongs += 1;
        } else if let Some(e) = line.strip_prefix("-ERR ") {
            self.errs.push_back(e.trim_matches('\'').to_string());
        }
        true
    }

    fn pump(&mut self, deadline: Instant) {
        if !self.parse_one() && !self.closed {
            self.read_more(deadline);
            while self.parse_one() {}
        }
    }

    fn sub(&mut self, subject: &str, sid: &str) {
        self.send(&format!("SUB {subject} {sid}\r\n")).unwrap();
    }

    fn queue_sub(&mut self, subject: &str, queue: &str, sid: &str) {
        self.send(&format!("SUB {subject} {queue} {sid}\r\n"))
            .unwrap();
    }

    fn publish(&mut self, subject: &str, payload: &str) {
        // A write may fail once the server has closed the connection; Go's Publish only
        // buffers, so that is not an error here either.
        let _ = self.send(&format!("PUB {subject} {}\r\n{payload}\r\n", payload.len()));
    }

    /// PING and wait for the PONG (Go's `Flush`).
    fn flush(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(2);
        self.send("PING\r\n")?;
        let pongs = self.pongs;
        while self.pongs == pongs {
            if self.closed {
                return Err("connection closed".into());
            }
            if Instant::now() >= deadline {
                return Err("nats: timeout".into());
            }
            self.pump(deadline);
        }
        Ok(())
    }

    /// The next message for `sid` within `wait` (Go's `sub.NextMsg`).
    fn next_msg(&mut self, sid: &str, wait: Duration) -> Option<NcMsg> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(i) = self.msgs.iter().position(|m| m.sid == sid) {
                return self.msgs.remove(i);
            }
            if self.closed || Instant::now() >= deadline {
                return None;
            }
            self.pump(deadline);
        }
    }

    /// Messages received for `sid` and not taken yet (Go's `sub.Pending` after a flush).
    fn pending(&mut self, sid: &str) -> usize {
        while self.parse_one() {}
        self.msgs.iter().filter(|m| m.sid == sid).count()
    }

    /// The next asynchronous `-ERR` within `wait`.
    fn next_err(&mut self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(e) = self.errs.pop_front() {
                return Some(e);
            }
            if self.closed || Instant::now() >= deadline {
                return None;
            }
            self.pump(deadline);
        }
    }

    /// Whether the server closed the connection within `wait` (Go's disconnect handler).
    fn wait_closed(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while !self.closed && Instant::now() < deadline {
            self.pump(deadline);
        }
        self.closed
    }

    /// No asynchronous error so far (what has arrived is read first).
    fn assert_no_err(&mut self, who: &str) {
        while self.parse_one() {}
        let deadline = Instant::now() + Duration::from_millis(5);
        while Instant::now() < deadline && !self.closed {
            self.read_more(deadline);
        }
        while self.parse_one() {}
        if let Some(e) = self.errs.front() {
            panic!("Received unexpected error for {who}: {e}");
        }
    }
}

const BASIC_CONF: &str = "listen: 127.0.0.1:-1\n";

const SINGLE_USER_1: &str = "listen: 127.0.0.1:-1
authorization {
    user:     tyler
    password: T0pS3cr3t
}
";

const SINGLE_USER_2: &str = "listen: 127.0.0.1:-1
authorization {
    user:     derek
    password: passw0rd
}
";

const TOKEN_1: &str = "listen: 127.0.0.1:-1
authorization {
    token: T0pS3cr3t
}
";

const TOKEN_2: &str = "listen: 127.0.0.1:-1
authorization {
    token: passw0rd
}
";

const MULTIPLE_USERS_1: &str = "listen: 127.0.0.1:-1
authorization {
    users = [
      {user: alice, password: foo}
      {user: bob,   password: bar}
    ]
    timeout: 0.5
}
";

const MULTIPLE_USERS_2: &str = "listen: 127.0.0.1:-1
authorization {
    users = [
      {user: alice, password: baz}
      {user: bob,   password: bar}
    ]
    timeout: 0.5
}
";

/// An existing connection whose credentials a reload invalidated: it may get the
/// authorization error before the close (Go tolerates missing it), and must be closed.
fn expect_auth_violation_and_close(nc: &mut Nc, err_wait: Duration, close_wait: Duration) {
    if let Some(e) = nc.next_err(err_wait) {
        assert_eq!(e, "Authorization Violation", "Expected ErrAuthorization");
    }
    assert!(
        nc.wait_closed(close_wait),
        "Expected connection to be disconnected"
    );
}

port!("server/reload_test.go::TestConfigReloadNoConfigFile" => config_reload_no_config_file);
fn config_reload_no_config_file() {
    let opts = natsd::config::Options {
        no_sigs: true,
        ..ported::support::default_test_options()
    };
    let srv = run_server(opts);
    let loaded = srv.shared().opts_generation();
    let before = srv.shared().opts();
    assert!(
        srv.shared().reload().is_err(),
        "Expected Reload to return an error"
    );
    assert_eq!(
        srv.shared().opts_generation(),
        loaded,
        "ConfigTime is incorrect"
    );
    assert!(std::sync::Arc::ptr_eq(&before, &srv.shared().opts()));
}

port!("server/reload_test.go::TestConfigReloadUnsupportedHotSwapping" => config_reload_unsupported_hot_swapping);
fn config_reload_unsupported_hot_swapping() {
    let s = ReloadServer::start("listen: 127.0.0.1:-1");
    let loaded = s.generation();
    s.rewrite("listen: 127.0.0.1:9999");
    match s.reload() {
        Err(e) if e.contains("not supported") => {}
        other => panic!("Expected Reload to return a not supported error, got {other:?}"),
    }
    assert_eq!(s.generation(), loaded, "ConfigTime is incorrect");
}

port!("server/reload_test.go::TestConfigReloadRotateUserAuthentication" => config_reload_rotate_user_authentication);
fn config_reload_rotate_user_authentication() {
    let s = ReloadServer::start(SINGLE_USER_1);
    let mut nc = nats_connect(s.addr(), Auth::User("tyler", "T0pS3cr3t")).unwrap();

    s.reload_with(SINGLE_USER_2);

    assert!(
        nats_connect(s.addr(), Auth::User("tyler", "T0pS3cr3t")).is_err(),
        "Expected connect to fail"
    );
    nats_connect(s.addr(), Auth::User("derek", "passw0rd")).unwrap();
    expect_auth_violation_and_close(&mut nc, Duration::from_secs(1), Duration::from_secs(2));
}

port!("server/reload_test.go::TestConfigReloadEnableUserAuthentication" => config_reload_enable_user_authentication);
fn config_reload_enable_user_authentication() {
    let s = ReloadServer::start(BASIC_CONF);
    let mut nc = nats_connect(s.addr(), Auth::None).unwrap();

    s.reload_with(SINGLE_USER_1);

    assert!(
        nats_connect(s.addr(), Auth::None).is_err(),
        "Expected connect to fail"
    );
    nats_connect(s.addr(), Auth::User("tyler", "T0pS3cr3t")).unwrap();
    expect_auth_violation_and_close(&mut nc, Duration::from_secs(1), Duration::from_secs(2));
}

port!("server/reload_test.go::TestConfigReloadDisableUserAuthentication" => config_reload_disable_user_authentication);
fn config_reload_disable_user_authentication() {
    let s = ReloadServer::start(SINGLE_USER_1);
    let mut nc = nats_connect(s.addr(), Auth::User("tyler", "T0pS3cr3t")).unwrap();

    s.reload_with(BASIC_CONF);

    nats_connect(s.addr(), Auth::None).unwrap();
    nc.flush().unwrap();
    nc.assert_no_err("the client");
}

port!("server/reload_test.go::TestConfigReloadRotateTokenAuthentication" => config_reload_rotate_token_authentication);
fn config_reload_rotate_token_authentication() {
    let s = ReloadServer::start(TOKEN_1);
    let mut nc = nats_connect(s.addr(), Auth::Token("T0pS3cr3t")).unwrap();

    s.reload_with(TOKEN_2);

    assert!(
        nats_connect(s.addr(), Auth::Token("T0pS3cr3t")).is_err(),
        "Expected connect to fail"
    );
    nats_connect(s.addr(), Auth::Token("passw0rd")).unwrap();
    // Here Go insists on the error.
    assert_eq!(
        nc.next_err(Duration::from_secs(2)).as_deref(),
        Some("Authorization Violation"),
        "Expected authorization error"
    );
    assert!(
        nc.wait_closed(Duration::from_secs(2)),
        "Expected connection to be disconnected"
    );
}

port!("server/reload_test.go::TestConfigReloadEnableTokenAuthentication" => config_reload_enable_token_authentication);
fn config_reload_enable_token_authentication() {
    let s = ReloadServer::start(BASIC_CONF);
    let mut nc = nats_connect(s.addr(), Auth::None).unwrap();

    s.reload_with(TOKEN_1);

    assert!(
        nats_connect(s.addr(), Auth::None).is_err(),
        "Expected connect to fail"
    );
    nats_connect(s.addr(), Auth::Token("T0pS3cr3t")).unwrap();
    expect_auth_violation_and_close(&mut nc, Duration::from_secs(1), Duration::from_secs(2));
}

port!("server/reload_test.go::TestConfigReloadDisableTokenAuthentication" => config_reload_disable_token_authentication);
fn config_reload_disable_token_authentication() {
    let s = ReloadServer::start(TOKEN_1);
    let mut nc = nats_connect(s.addr(), Auth::Token("T0pS3cr3t")).unwrap();

    s.reload_with(BASIC_CONF);

    nats_connect(s.addr(), Auth::None).unwrap();
    nc.flush().unwrap();
    nc.assert_no_err("the client");
}

port!("server/reload_test.go::TestConfigReloadRotateUsersAuthentication" => config_reload_rotate_users_authentication);
fn config_reload_rotate_users_authentication() {
    let s = ReloadServer::start(MULTIPLE_USERS_1);
    let mut nc = nats_connect(s.addr(), Auth::User("alice", "foo")).unwrap();
    // These credentials won't change.
    let mut nc2 = nats_connect(s.addr(), Auth::User("bob", "bar")).unwrap();
    nc2.sub("foo", "1");
    nc2.flush().unwrap();

    s.reload_with(MULTIPLE_USERS_2);

    assert!(
        nats_connect(s.addr(), Auth::User("alice", "foo")).is_err(),
        "Expected connect to fail"
    );
    nats_connect(s.addr(), Auth::User("alice", "baz")).unwrap();
    expect_auth_violation_and_close(&mut nc, Duration::from_secs(1), Duration::from_secs(2));

    // The connection with unchanged credentials still publishes and receives.
    nc2.publish("foo", "hello");
    nc2.flush().unwrap();
    let m = nc2
        .next_msg("1", Duration::from_secs(2))
        .expect("Error receiving msg");
    assert_eq!(m.payload, b"hello", "Msg is incorrect");
}

port!("server/reload_test.go::TestConfigReloadEnableUsersAuthentication" => config_reload_enable_users_authentication);
fn config_reload_enable_users_authentication() {
    let s = ReloadServer::start(BASIC_CONF);
    let mut nc = nats_connect(s.addr(), Auth::None).unwrap();

    s.reload_with(MULTIPLE_USERS_1);

    assert!(
        nats_connect(s.addr(), Auth::None).is_err(),
        "Expected connect to fail"
    );
    nats_connect(s.addr(), Auth::User("alice", "foo")).unwrap();
    expect_auth_violation_and_close(&mut nc, Duration::from_secs(1), Duration::from_secs(5));
}

port!("server/reload_test.go::TestConfigReloadDisableUsersAuthentication" => config_reload_disable_users_authentication);
fn config_reload_disable_users_authentication() {
    let s = ReloadServer::start(MULTIPLE_USERS_1);
    let mut nc = nats_connect(s.addr(), Auth::User("alice", "foo")).unwrap();

    s.reload_with(BASIC_CONF);

    nats_connect(s.addr(), Auth::None).unwrap();
    nc.flush().unwrap();
    nc.assert_no_err("the client");
}

port!("server/reload_test.go::TestConfigReloadMaxSubsUnsupported" => config_reload_max_subs_unsupported);
fn config_reload_max_subs_unsupported() {
    let s = ReloadServer::start("port: -1\nmax_subs: 1\n");
    s.rewrite("max_subs: 10");
    assert!(s.reload().is_err(), "Expected Reload to return an error");
}

port!("server/reload_test.go::TestConfigReloadMaxConnections" => config_reload_max_connections);
fn config_reload_max_connections() {
    max_connections_reload(1);
}

port!("server/reload_test.go::TestConfigReloadMaxConnectionsPreventAll" => config_reload_max_connections_prevent_all);
fn config_reload_max_connections_prevent_all() {
    max_connections_reload(0);
}

/// Two clients, then a reload down to `max` connections: one client is closed (Go waits
/// for one close in both tests), `max` remain, and new connections fail.
fn max_connections_reload(max: usize) {
    let s = ReloadServer::start(BASIC_CONF);
    let mut nc1 = nats_connect(s.addr(), Auth::None).unwrap();
    let mut nc2 = nats_connect(s.addr(), Auth::None).unwrap();
    assert_eq!(s.srv.shared().num_clients(), 2, "Expected 2 clients");

    s.reload_with(&format!("listen: 127.0.0.1:-1\nmax_connections: {max}\n"));

    let deadline = Instant::now() + Duration::from_secs(5);
    while !nc1.closed && !nc2.closed && Instant::now() < deadline {
        nc1.pump(Instant::now() + Duration::from_millis(10));
        nc2.pump(Instant::now() + Duration::from_millis(10));
    }
    assert!(nc1.closed || nc2.closed, "Expected to be disconnected");
    check_for(Duration::from_secs(2), Duration::from_millis(15), || {
        let n = s.srv.shared().num_clients();
        if n == max {
            Ok(())
        } else {
            Err(format!("Expected {max} clients, got {n}"))
        }
    });
    assert!(
        nats_connect(s.addr(), Auth::None).is_err(),
        "Expected error on connect"
    );
}

port!("server/reload_test.go::TestConfigReloadMaxPayload" => config_reload_max_payload);
fn config_reload_max_payload() {
    let s = ReloadServer::start(BASIC_CONF);
    let mut nc = nats_connect(s.addr(), Auth::None).unwrap();
    let mut conn = nats_connect(s.addr(), Auth::None).unwrap();
    conn.sub("foo", "1");
    conn.flush().unwrap();

    nc.publish("foo", "hello");
    nc.flush().unwrap();
    conn.next_msg("1", Duration::from_secs(2))
        .expect("Error receiving message");

    s.reload_with("listen: 127.0.0.1:-1\nmax_payload: 1\n");

    // Oversized messages are not delivered and the publisher is disconnected.
    nc.publish("foo", "hello");
    let _ = nc.flush();
    assert!(
        conn.next_msg("1", Duration::from_millis(20)).is_none(),
        "Expected ErrTimeout"
    );
    assert!(
        nc.wait_closed(Duration::from_secs(5)),
        "Expected to be disconnected"
    );
}

port!("server/reload_test.go::TestConfigReloadConnectErrReports" => config_reload_connect_err_reports);
fn config_reload_connect_err_reports() {
    let template = |a: &str, b: &str| format!("port: -1\n{a}\n{b}\n");
    let s = ReloadServer::start(&template("", ""));
    let opts = s.srv.shared().opts();
    assert_eq!(
        opts.connect_error_reports,
        natsd::config::options::DEFAULT_CONNECT_ERROR_REPORTS
    );
    assert_eq!(
        opts.reconnect_error_reports,
        natsd::config::options::DEFAULT_RECONNECT_ERROR_REPORTS
    );

    s.reload_with(&template(
        "connect_error_reports: 2",
        "reconnect_error_reports: 3",
    ));
    let opts = s.srv.shared().opts();
    assert_eq!(opts.connect_error_reports, 2);
    assert_eq!(opts.reconnect_error_reports, 3);
}

port!("server/reload_test.go::TestConfigReloadValidate" => config_reload_validate);
fn config_reload_validate() {
    let s = ReloadServer::start(
        r#"
        listen: "127.0.0.1:-1"
        no_auth_user: a
        authorization {
            users [
                {user: "a", password: "a"},
                {user: "b", password: "b"}
            ]
        }
    "#,
    );
    // Removing the user no_auth_user names must fail.
    s.rewrite(
        r#"
        listen: "127.0.0.1:-1"
        no_auth_user: a
        authorization {
            users [
                {user: "b", password: "b"}
            ]
        }
    "#,
    );
    let e = s.reload().expect_err("Expected error on reload, got none");
    // Go only logs when the text differs; natsd gives Go's text.
    assert!(e.starts_with("no_auth_user:"), "got {e}");
}

const AUTHORIZATION_1: &str = r#"listen: 127.0.0.1:-1
authorization {
  super_user = {
    publish = ">"
    subscribe = ">"
  }
  req_pub_user = {
    publish = ["req.foo", "req.bar"]
    subscribe = "_INBOX.>"
  }
  default_user = {
    subscribe = {
      allow: ["PUBLIC.>", "foo.*"]
      deny: "foo.bar"
    }
  }
  default_permissions: $default_user
  users = [
    {user: alice, password: foo, permissions: $super_user}
    {user: bob,   password: bar, permissions: $req_pub_user}
    {user: susan, password: baz}
  ]
}
"#;

const AUTHORIZATION_2: &str = r#"listen: 127.0.0.1:-1
authorization {
  super_user = {
    publish = ">"
    subscribe = ">"
  }
  req_pub_user = {
    publish = ["_INBOX.foo.bar"]
    subscribe = "_INBOX.foo.>"
  }
  default_user = {
    subscribe = {
      allow: ["PUBLIC.>", "foo.*"]
      deny: ["PUBLIC.foo"]
    }
  }
  default_permissions: $default_user
  users = [
    {user: alice, password: foo, permissions: $super_user}
    {user: bob,   password: bar, permissions: $req_pub_user}
    {user: susan, password: baz}
  ]
}
"#;

fn expect_err_containing(nc: &mut Nc, want: &str) {
    match nc.next_err(Duration::from_secs(5)) {
        Some(e) if e.to_lowercase().contains(want) => {}
        other => panic!("Expected permissions violation error ({want}), got {other:?}"),
    }
}

port!("server/reload_test.go::TestConfigReloadChangePermissions" => config_reload_change_permissions);
fn config_reload_change_permissions() {
    let s = ReloadServer::start(AUTHORIZATION_1);
    let mut nc = nats_connect(s.addr(), Auth::User("bob", "bar")).unwrap();
    nc.sub("_INBOX.>", "inbox");
    nc.flush().unwrap();

    let mut conn = nats_connect(s.addr(), Auth::User("alice", "foo")).unwrap();
    conn.sub("req.foo", "req");
    conn.publish("_INBOX.foo", "hello");
    conn.flush().unwrap();
    let m = nc
        .next_msg("inbox", Duration::from_secs(2))
        .expect("Error receiving msg");
    assert_eq!(m.payload, b"hello", "Msg is incorrect");

    nc.publish("req.foo", "world");
    nc.flush().unwrap();
    let m = conn
        .next_msg("req", Duration::from_secs(2))
        .expect("Error receiving msg");
    assert_eq!(m.payload, b"world", "Msg is incorrect");

    // Susan subscribes to two subjects; a publish on foo.bar does not reach her but one on
    // PUBLIC.foo does.
    let mut sconn = nats_connect(s.addr(), Auth::User("susan", "baz")).unwrap();
    sconn.sub("foo.*", "foo");
    sconn.flush().unwrap();
    conn.publish("foo.bar", "hello");
    conn.flush().unwrap();
    assert!(
        sconn.next_msg("foo", Duration::from_millis(100)).is_none(),
        "Received a message we shouldn't have"
    );
    sconn.sub("PUBLIC.*", "public");
    sconn.flush().unwrap();
    sconn.assert_no_err("susan");
    conn.publish("PUBLIC.foo", "hello monkey");
    conn.flush().unwrap();
    let m = sconn
        .next_msg("public", Duration::from_secs(2))
        .expect("Error receiving msg");
    assert_eq!(m.payload, b"hello monkey", "Msg is incorrect");

    s.reload_with(AUTHORIZATION_2);

    // The subscription no longer allowed is removed with an -ERR (the connection stays).
    expect_err_containing(
        &mut nc,
        "permissions violation for subscription to \"_inbox.>\"",
    );

    // Publishing to req.foo fails, and _INBOX.> no longer receives.
    nc.publish("req.foo", "hola");
    nc.flush().unwrap();
    conn.publish("_INBOX.foo", "mundo");
    conn.flush().unwrap();
    expect_err_containing(&mut nc, "permissions violation for publish to \"req.foo\"");
    assert_eq!(conn.pending("req"), 0, "Pending is incorrect");
    assert_eq!(nc.pending("inbox"), 0, "Pending is incorrect");

    // The new permissions work.
    nc.sub("_INBOX.foo.>", "inbox2");
    nc.flush().unwrap();
    nc.publish("_INBOX.foo.bar", "testing");
    nc.flush().unwrap();
    let m = nc
        .next_msg("inbox2", Duration::from_secs(2))
        .expect("Error receiving msg");
    assert_eq!(m.payload, b"testing", "Msg is incorrect");
    nc.assert_no_err("bob");

    // Susan: PUBLIC.foo is now denied, foo.bar now allowed.
    conn.publish("PUBLIC.foo", "hello monkey");
    conn.flush().unwrap();
    assert!(
        sconn
            .next_msg("public", Duration::from_millis(100))
            .is_none(),
        "Received a message we shouldn't have"
    );
    conn.publish("foo.bar", "hello?");
    conn.flush().unwrap();
    let m = sconn
        .next_msg("foo", Duration::from_secs(2))
        .expect("Error receiving msg");
    assert_eq!(m.payload, b"hello?", "Msg is incorrect");
    sconn.flush().unwrap();
    sconn.assert_no_err("susan");
}

port!("server/reload_test.go::TestConfigReloadRevokesQueueSubscriptionWithQueueScopedDeny" => config_reload_revokes_queue_subscription_with_queue_scoped_deny);
fn config_reload_revokes_queue_subscription_with_queue_scoped_deny() {
    let config = |deny: &str| {
        format!(
            "listen: 127.0.0.1:-1
            authorization {{
                users: [
                    {{
                        user: attacker
                        password: pass
                        permissions: {{
                            subscribe: {{
                                allow: [\">\"]
                                {deny}
                            }}
                        }}
                    }}
                ]
            }}"
        )
    };
    let s = ReloadServer::start(&config(""));
    let mut nc = nats_connect(s.addr(), Auth::User("attacker", "pass")).unwrap();
    nc.queue_sub("admin.secret", "workers", "1");
    nc.flush().unwrap();

    s.reload_with(&config(r#"deny: ["admin.secret workers"]"#));

    expect_err_containing(
        &mut nc,
        r#"permissions violation for subscription to "admin.secret" using queue "workers""#,
    );
    nc.publish("admin.secret", "blocked");
    nc.flush().unwrap();
    assert!(
        nc.next_msg("1", Duration::from_millis(100)).is_none(),
        "Expected revoked queue subscription not to receive messages"
    );
}

port!("server/reload_test.go::TestConfigReloadClientAdvertise" => config_reload_client_advertise);
fn config_reload_client_advertise() {
    let s = ReloadServer::start(r#"listen: "0.0.0.0:-1""#);
    let org_port = s.addr().port();
    let verify = |host: &str, port: u16| {
        let info = s.srv.shared().info();
        assert!(
            info.host == host && info.port == port,
            "Expected host/port to be {host}:{port}, got {}:{}",
            info.host,
            info.port
        );
    };

    s.reload_with("listen: \"0.0.0.0:-1\"\nclient_advertise: \"me:1\"\n");
    verify("me", 1);
    s.reload_with("listen: \"0.0.0.0:-1\"\nclient_advertise: \"me\"\n");
    verify("me", org_port);
    s.reload_with("listen: \"0.0.0.0:-1\"\nclient_advertise: \"me:-1\"\n");
    verify("me", org_port);
    // Without client_advertise the listen values come back.
    s.reload_with(r#"listen: "0.0.0.0:-1""#);
    verify("0.0.0.0", org_port);
}

port!("server/reload_test.go::TestConfigReloadRotateFiles" => config_reload_rotate_files);
fn config_reload_rotate_files() {
    let dir = crate::logger::TempDir::new();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let conf = |log: &str, pid: &str| {
        format!(
            "listen: 127.0.0.1:-1\nlogfile: \"{}\"\npid_file: \"{}\"\n",
            p(log),
            p(pid)
        )
    };
    let path = create_conf_file(conf("log.txt", "nats-server.pid").as_bytes());
    // Logging enabled, as Go turns it on before reloading.
    let mut opts = load_config(&path);
    opts.no_log = false;
    let s = ReloadServer {
        srv: run_server(opts),
        conf: path,
    };

    s.reload_with(&conf("log1.txt", "nats-server1.pid"));

    assert!(
        std::path::Path::new(&p("log1.txt")).exists(),
        "Error reloading config, no new file"
    );
    assert!(
        std::path::Path::new(&p("nats-server1.pid")).exists(),
        "Error reloading config, no new file"
    );
    // The old files are no longer held: they can be renamed and removed.
    std::fs::rename(p("log.txt"), p("log_old.txt")).unwrap();
    std::fs::rename(p("nats-server.pid"), p("nats-server_old.pid")).unwrap();
    std::fs::remove_file(p("log_old.txt")).unwrap();
    std::fs::remove_file(p("nats-server_old.pid")).unwrap();
}
