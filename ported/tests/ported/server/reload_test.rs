//! Ports of `server/reload_test.go` (the tests that need a single server).
//!
//! Go's `s.Reload()` is `ServerShared::reload`; rewriting the configuration file and
//! reloading is [`ReloadServer::reload_with`]. Go's `ConfigTime` is the monitor's
//! `config_load_time` (what `/varz` shows as Go's does).
//! The Go client (`nats.Connect`) is [`Nc`], a small blocking client that records
//! asynchronous `-ERR`s and whether the server closed the connection.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{check_for, create_conf_file, load_config, run_server};
use ported::tls_client::{self, test_cert, ClientOptions};
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

    /// Go's `ConfigTime`.
    fn config_time(&self) -> natsd::monitor::gotime::GoTime {
        self.srv.shared().monitor.config_load_time()
    }
}

/// How a client authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    User(&'a str, &'a str),
    Token(&'a str),
    /// User, password and connection name (Go's `nats.Name`).
    Named(&'a str, &'a str, &'a str),
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
        Auth::Named(u, p, name) => {
            connect["user"] = u.into();
            connect["pass"] = p.into();
            connect["name"] = name.into();
        }
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

    /// A request from this connection (Go's `nc.Request`): the reply's payload.
    fn request(&mut self, subject: &str, wait: Duration) -> Option<Vec<u8>> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let (inbox, sid) = (format!("_INBOX.reload.{n}"), format!("req{n}"));
        self.sub(&inbox, &sid);
        let _ = self.send(&format!("PUB {subject} {inbox} 0\r\n\r\n"));
        let reply = self.next_msg(&sid, wait).map(|m| m.payload);
        let _ = self.send(&format!("UNSUB {sid}\r\n"));
        let _ = self.flush();
        reply
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
    let loaded = srv.shared().monitor.config_load_time();
    let before = srv.shared().opts();
    std::thread::sleep(Duration::from_millis(2));
    assert!(
        srv.shared().reload().is_err(),
        "Expected Reload to return an error"
    );
    assert_eq!(
        srv.shared().monitor.config_load_time(),
        loaded,
        "ConfigTime is incorrect"
    );
    assert!(std::sync::Arc::ptr_eq(&before, &srv.shared().opts()));
}

port!("server/reload_test.go::TestConfigReloadUnsupportedHotSwapping" => config_reload_unsupported_hot_swapping);
fn config_reload_unsupported_hot_swapping() {
    let s = ReloadServer::start("listen: 127.0.0.1:-1");
    let loaded = s.config_time();
    std::thread::sleep(Duration::from_millis(1));
    s.rewrite("listen: 127.0.0.1:9999");
    match s.reload() {
        Err(e) if e.contains("not supported") => {
            // Go names the bound port as the old one.
            assert_eq!(
                e,
                format!(
                    "config reload not supported for Port: old={}, new=9999",
                    s.addr().port()
                )
            );
        }
        other => panic!("Expected Reload to return a not supported error, got {other:?}"),
    }
    assert_eq!(s.config_time(), loaded, "ConfigTime is incorrect");
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
    let e = s.reload().expect_err("Expected Reload to return an error");
    // Without a port the file means the default port, which differs first (Go compares
    // the options field by field, in order).
    assert_eq!(
        e,
        format!(
            "config reload not supported for Port: old={}, new=4222",
            s.addr().port()
        )
    );
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

port!("server/reload_test.go::TestConfigReloadMaxControlLineWithClients" => config_reload_max_control_line_with_clients);
fn config_reload_max_control_line_with_clients() {
    // Go reads the limit each connected client keeps (`c.mcl`); here the connected client
    // shows it: a control line over the limit is refused, one at it is not.
    let s = ReloadServer::start(BASIC_CONF);
    let mut nc = nats_connect(s.addr(), Auth::None).unwrap();
    let mcl = usize::try_from(s.srv.shared().opts().max_control_line).unwrap();
    // A SUB whose arguments ("<subject> 1", what the limit applies to) are `len` long.
    let sub_line = |len: usize| format!("SUB {} 1\r\n", "a".repeat(len - " 1".len()));
    nc.send(&sub_line(mcl)).unwrap();
    nc.flush().unwrap();
    nc.assert_no_err("the client at the old limit");

    s.reload_with("listen: 127.0.0.1:-1; max_control_line: 222");
    let new_mcl = usize::try_from(s.srv.shared().opts().max_control_line).unwrap();
    assert_eq!(new_mcl, 222);

    // The connected client took on the new limit: at it is fine, over it is not.
    nc.send(&sub_line(new_mcl)).unwrap();
    nc.flush().unwrap();
    nc.assert_no_err("the client at the new limit");
    nc.send(&sub_line(new_mcl + 1)).unwrap();
    assert_eq!(
        nc.next_err(Duration::from_secs(2)).as_deref(),
        Some("maximum control line exceeded"),
        "Expected snapshot in client for mcl to be same as new opts.MaxControlLine"
    );
}

port!("server/reload_test.go::TestConfigReloadDefaultSystemAccount" => config_reload_default_system_account);
fn config_reload_default_system_account() {
    let s = ReloadServer::start(
        r#"
    listen: "127.0.0.1:-1"
    accounts {
        ACC {
            users = [
                {user: usr, password: pwd}
            ]
        }
    }
    "#,
    );
    let shared = s.srv.shared();
    let sys = shared
        .accounts
        .system()
        .expect("Expected system account to be present")
        .clone();
    let num_subs = sys.sublist.count();
    let sname = sys.name.clone();
    let in_accounts = || {
        assert!(
            shared.accounts.all().iter().any(|a| a.name == sname),
            "System account not found in accounts list"
        );
    };
    in_accounts();

    if let Err(e) = s.reload() {
        panic!("Unexpected error reloading: {e}");
    }
    let sys = shared
        .accounts
        .system()
        .expect("Expected system account to still be present");
    assert_eq!(sys.sublist.count(), num_subs, "Expected {num_subs} subs");
    in_accounts();
}

port!("server/reload_test.go::TestConfigReloadWithSysAccountOnly" => config_reload_with_sys_account_only);
fn config_reload_with_sys_account_only() {
    let s = ReloadServer::start(
        r#"
        listen: "127.0.0.1:-1"
        accounts {
            $SYS {
                users = [{user: "system",pass: "password"}, {user: "system2",pass: "password2"}]
            }
        }
    "#,
    );
    let mut nc = nats_connect(s.addr(), Auth::None).unwrap();
    if let Err(e) = s.reload() {
        panic!("Error on reload: {e}");
    }
    // Not disconnected within half a second.
    assert!(
        !nc.wait_closed(Duration::from_millis(500)),
        "Got disconnected!"
    );
    nc.flush().unwrap();
}

port!("server/reload_test.go::TestConfigReloadAccountWithNoChanges" => config_reload_account_with_no_changes);
fn config_reload_account_with_no_changes() {
    let s = ReloadServer::start(
        r#"
    listen: "127.0.0.1:-1"
    system_account: sys
    accounts {
        A {
            users = [{ user: a }]
        }
        B {
            users = [{ user: b }]
        }
        C {
            users = [{ user: c }]
        }
        sys {
            users = [{ user: sys }]
        }
    }
    "#,
    );
    let mut nc_a = nats_connect(s.addr(), Auth::User("a", "")).unwrap();
    // The service imports every account has from the system account answer.
    let mut check_subs = || {
        for (subject, want) in [
            ("$SYS.REQ.ACCOUNT.PING.CONNZ", r#""num_connections":1"#),
            ("$SYS.REQ.SERVER.PING.CONNZ", r#""num_connections":1"#),
            ("$SYS.REQ.ACCOUNT.PING.STATZ", r#""conns":1"#),
        ] {
            let resp = nc_a
                .request(subject, Duration::from_secs(1))
                .unwrap_or_else(|| panic!("no response to {subject}"));
            assert!(
                String::from_utf8_lossy(&resp).contains(want),
                "unexpected data in connz response: {}",
                String::from_utf8_lossy(&resp)
            );
        }
    };
    for _ in 0..3 {
        check_subs();
        let before = s.srv.shared().num_subscriptions();
        let _ = s.reload();
        let after = s.srv.shared().num_subscriptions();
        assert_eq!(
            before, after,
            "Number of subscriptions changed after reload: {before} -> {after}"
        );
    }
}

port!("server/reload_test.go::TestConfigReloadAccountUsers" => config_reload_account_users);
fn config_reload_account_users() {
    let s = ReloadServer::start(
        r#"
    listen: "127.0.0.1:-1"
    accounts {
        synadia {
            users = [
                {user: derek, password: derek}
                {user: foo, password: foo}
            ]
        }
        nats.io {
            users = [
                {user: ivan, password: ivan}
                {user: bar, password: bar}
            ]
        }
        acc_deleted_after_reload {
            users = [
                {user: gone, password: soon}
                {user: baz, password: baz}
                {user: bat, password: bat}
            ]
        }
    }
    "#,
    );
    let shared = s.srv.shared().clone();
    let connect = |u: &str| nats_connect(s.addr(), Auth::User(u, u)).unwrap();
    let mut nc = connect("derek");
    let mut nc2 = connect("ivan");
    let mut nc3 = nats_connect(s.addr(), Auth::User("gone", "soon")).unwrap();
    // These users move to another account; their subscriptions must land in the right
    // sublists once they are back.
    let mut moved = Vec::new();
    for u in ["foo", "bar", "baz", "bat"] {
        let mut c = connect(u);
        c.sub(u, "1");
        c.flush().unwrap();
        moved.push(c);
    }

    // Each account has the system's service imports (4) and its user's subscription.
    let expected_subs = 5;
    let count = |name: &str| shared.accounts.lookup(name).unwrap().sublist.count();
    assert_eq!(
        count("synadia"),
        expected_subs,
        "Synadia account should have {expected_subs} sub"
    );
    assert_eq!(
        count("nats.io"),
        expected_subs,
        "Nats.io account should have {expected_subs} sub"
    );

    s.reload_with(
        r#"
    listen: "127.0.0.1:-1"
    authorization {
        users = [
            {user: foo, password: foo}
            {user: baz, password: baz}
        ]
    }
    accounts {
        synadia {
            users = [
                {user: derek, password: derek}
                {user: bar, password: bar}
            ]
        }
        nats.io {
            users = [
                {user: bat, password: bat}
            ]
        }
    }
    "#,
    );
    // The removed users' connections are closed.
    assert!(
        nc2.wait_closed(Duration::from_secs(5)),
        "Did not get the closed callback"
    );
    assert!(
        nc3.wait_closed(Duration::from_secs(5)),
        "Did not get the closed callback"
    );
    // The first connection is still connected.
    nc.flush()
        .expect("First connection should still be connected");
    assert!(
        shared.accounts.lookup("acc_deleted_after_reload").is_none(),
        "old account should be gone"
    );
    // The moved users are disconnected; they reconnect (as the Go client does) and
    // subscribe again.
    for (c, u) in moved.iter_mut().zip(["foo", "bar", "baz", "bat"]) {
        assert!(
            c.wait_closed(Duration::from_secs(5)),
            "Did not get the reconnect cb"
        );
        let mut again = connect(u);
        again.sub(u, "1");
        again.flush().unwrap();
        *c = again;
    }
    check_for(Duration::from_secs(2), Duration::from_millis(100), || {
        let g = shared.accounts.global();
        let n = g.sublist.count();
        // 4 service imports + foo and baz.
        if n != 6 {
            return Err(format!("Global account should have 6 subs, got {n}"));
        }
        if g.sublist.match_subject("foo").psubs.len() != 1 {
            return Err("Global account should have foo sub".into());
        }
        if g.sublist.match_subject("baz").psubs.len() != 1 {
            return Err("Global account should have baz sub".into());
        }
        let synadia = shared.accounts.lookup("synadia").unwrap();
        let n = synadia.sublist.count();
        if n != expected_subs {
            return Err(format!(
                "Synadia account should have {expected_subs} sub, got {n}"
            ));
        }
        if synadia.sublist.match_subject("bar").psubs.len() != 1 {
            return Err("Synadia account should have bar sub".into());
        }
        let nats = shared.accounts.lookup("nats.io").unwrap();
        let n = nats.sublist.count();
        if n != expected_subs {
            return Err(format!(
                "Nats.io account should have {expected_subs} sub, got {n}"
            ));
        }
        if nats.sublist.match_subject("bat").psubs.len() != 1 {
            return Err("Nats.io account should have bat sub".into());
        }
        Ok(())
    });
}

port!("server/reload_test.go::TestConfigReloadAccountNKeyUsers" => config_reload_account_nkey_users);
fn config_reload_account_nkey_users() {
    const DEREK: &str = "UCNGL4W5QX66CFX6A6DCBVDH5VOHMI7B2UZZU7TXAUQQSI2JPHULCKBR";
    const IVAN: &str = "UDPGQVFIWZ7Q5UH4I5E6DBCZULQS6VTVBG6CYBD7JV3G3N2GMQOMNAUH";
    let s = ReloadServer::start(&format!(
        r#"
    listen: "127.0.0.1:-1"
    accounts {{
        synadia {{
            users = [
                # Derek
                {{nkey : {DEREK}}}
            ]
        }}
        nats.io {{
            users = [
                # Ivan
                {{nkey : {IVAN}}}
            ]
        }}
    }}
    "#
    ));
    let shared = s.srv.shared().clone();

    // Signs the nonce, connects verbose and pedantic, and returns the account the server
    // bound the client to.
    let connect_nkey = |seed: &str| -> (ported::support::RawConn, String) {
        let kp = nkeys::KeyPair::from_seed(seed).unwrap();
        let before: Vec<u64> = shared.clients().iter().map(|c| c.cid).collect();
        let mut c = ported::support::RawConn::connect(s.addr());
        let info = c.check_info();
        let nonce = info["nonce"].as_str().unwrap_or_default().to_string();
        assert!(
            !nonce.is_empty(),
            "Expected a non-empty nonce with nkeys defined"
        );
        use base64::Engine;
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(kp.sign(nonce.as_bytes()).unwrap());
        c.send(&format!(
            "CONNECT {{\"nkey\":{:?},\"sig\":\"{sig}\",\"verbose\":true,\"pedantic\":true}}\r\nPING\r\n",
            kp.public_key()
        ));
        c.expect(&ported::support::re::OK);
        c.expect(&ported::support::re::PONG);
        let me = shared
            .clients()
            .into_iter()
            .find(|cl| !before.contains(&cl.cid))
            .expect("the new client is registered");
        (c, me.account_name())
    };
    let (_c1, acc) = connect_nkey("SUAPM67TC4RHQLKBX55NIQXSMATZDOZK6FNEOSS36CAYA7F7TY66LP4BOM");
    assert_eq!(
        acc, "synadia",
        "Expected the nkey client's account to match 'synadia'"
    );
    let (_c2, acc) = connect_nkey("SUAIS5JPX4X4GJ7EIIJEQ56DH2GWPYJRPWN5XJEDENJOZHCBLI7SEPUQDE");
    assert_eq!(
        acc, "nats.io",
        "Expected the nkey client's account to match 'nats'"
    );

    // Derek moves to nats.io, Ivan to the global account, synadia goes away.
    s.reload_with(&format!(
        r#"
    listen: "127.0.0.1:-1"
    authorization {{
        users = [
            # Ivan
            {{nkey : {IVAN}}}
        ]
    }}
    accounts {{
        nats.io {{
            users = [
                # Derek
                {{nkey : {DEREK}}}
            ]
        }}
    }}
    "#
    ));
    let opts = shared.opts();
    assert_eq!(opts.nkeys.len(), 2, "NKeys map should have 2 users");
    let derek = opts
        .nkeys
        .iter()
        .find(|u| u.nkey == DEREK)
        .expect("NKey for user Derek not found");
    assert_eq!(derek.account, "nats.io", "Invalid account for user Derek");
    let ivan = opts
        .nkeys
        .iter()
        .find(|u| u.nkey == IVAN)
        .expect("NKey for user Ivan not found");
    assert!(
        ivan.account.is_empty() || ivan.account == "$G",
        "Invalid account for user Ivan: {:?}",
        ivan.account
    );
    assert!(
        shared.accounts.lookup("synadia").is_none(),
        "Account Synadia should have been removed"
    );
}

/// Go's `tls_test.conf`: TLS with the server certificate, no client verification.
fn tls_conf() -> String {
    format!(
        "listen: 127.0.0.1:-1\ntls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  timeout: 2\n}}\n",
        test_cert("server-cert.pem"),
        test_cert("server-key.pem")
    )
}

/// Go's `tls_verify_test.conf`: another certificate (and CA), client certificates
/// required.
fn tls_verify_conf() -> String {
    format!(
        "listen: 127.0.0.1:-1\ntls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: true\n  timeout: 2\n}}\n",
        test_cert("sans/server.pem"),
        test_cert("sans/server-key.pem"),
        test_cert("sans/ca.pem")
    )
}

/// Go's client with `nats.Secure` (the tests skip verification; here the server is
/// verified against its CA, which is stricter).
fn secure(ca: &str) -> ClientOptions {
    ClientOptions::default().root_ca(test_cert(ca))
}

port!("server/reload_test.go::TestConfigReloadRotateTLS" => config_reload_rotate_tls);
fn config_reload_rotate_tls() {
    let s = ReloadServer::start(&tls_conf());
    let mut nc = tls_client::connect(s.addr(), &secure("ca.pem")).unwrap();
    nc.subscribe("foo", "1");
    nc.flush().unwrap();

    // Rotate the certificate and require client certificates.
    s.reload_with(&tls_verify_conf());

    assert!(
        tls_client::connect(s.addr(), &secure("sans/ca.pem")).is_err(),
        "Expected connect to fail"
    );
    let with_cert = secure("sans/ca.pem").client_cert(
        test_cert("sans/client.pem"),
        test_cert("sans/client-key.pem"),
    );
    tls_client::connect(s.addr(), &with_cert).unwrap();

    // The original connection still publishes and receives.
    nc.publish("foo", b"hello");
    nc.flush().unwrap();
    let m = nc
        .next_msg(Duration::from_secs(2))
        .expect("Error receiving msg");
    assert_eq!(m.payload, b"hello", "Msg is incorrect");
}

port!("server/reload_test.go::TestConfigReloadEnableTLS" => config_reload_enable_tls);
fn config_reload_enable_tls() {
    let s = ReloadServer::start(BASIC_CONF);
    nats_connect(s.addr(), Auth::None).unwrap();

    s.reload_with(&tls_conf());

    tls_client::connect(s.addr(), &secure("ca.pem")).unwrap();
}

port!("server/reload_test.go::TestConfigReloadDisableTLS" => config_reload_disable_tls);
fn config_reload_disable_tls() {
    let s = ReloadServer::start(&tls_conf());
    tls_client::connect(s.addr(), &secure("ca.pem")).unwrap();

    s.reload_with(BASIC_CONF);

    assert!(
        tls_client::connect(s.addr(), &secure("ca.pem")).is_err(),
        "Expected connect to fail"
    );
    nats_connect(s.addr(), Auth::None).unwrap();
}

port!("server/reload_test.go::TestConfigReloadAndVarz" => config_reload_and_varz);
fn config_reload_and_varz() {
    let template = |extra: &str| format!("\n\t\tport: -1\n\t\t{extra}\n\t");
    let s = ReloadServer::start(&template(""));
    let init_config_time = s.config_time();

    let v = natsd::monitor::varz::varz(s.srv.shared());
    assert_eq!(
        v.config_load_time, init_config_time,
        "ConfigLoadTime should be the configuration time"
    );
    assert_eq!(
        v.max_conn,
        natsd::config::options::DEFAULT_MAX_CONNECTIONS,
        "MaxConn should be the default"
    );
    assert_eq!(
        v.config_digest,
        "sha256:7ea4cc5c6864139d814ce940a40ee6546b7ac5285eec3c390a4ce11e34dc1102"
    );

    s.rewrite(&template("max_connections: 10"));
    // Wait a bit so the load time can change.
    std::thread::sleep(Duration::from_millis(15));
    if let Err(e) = s.reload() {
        panic!("Error during reload: {e}");
    }

    let v = natsd::monitor::varz::varz(s.srv.shared());
    assert_ne!(
        v.config_load_time, init_config_time,
        "ConfigLoadTime should be different from the first one"
    );
    assert_eq!(v.max_conn, 10, "MaxConn should be 10");
    assert_eq!(
        v.config_digest,
        "sha256:508a26309068f62c3022aa8951e712ed8ff5dd6f2360f727ad8242a2a233176e"
    );
}

port!("server/reload_test.go::TestConfigReloadAccounts" => config_reload_accounts);
fn config_reload_accounts() {
    let s = ReloadServer::start(
        r#"
    listen: "127.0.0.1:-1"
    system_account: SYS
    accounts {
        SYS {
            users = [
                {user: sys, password: pwd}
            ]
        }
        ACC {
            users = [
                {user: usr, password: pwd}
            ]
        }
        acc_deleted_after_reload_will_trigger_reload_of_all_accounts {
            users = [
                {user: notused, password: soon}
            ]
        }
    }
    "#,
    );
    let shared = s.srv.shared().clone();
    let old_acc = shared.accounts.lookup("SYS").expect("No SYS account");

    // The system account and its internal client are the same ones after a reload.
    let test_srv_state = |old_acc: &std::sync::Arc<natsd::account::Account>| {
        let sys_acc = shared
            .accounts
            .system()
            .expect("Expected sys.account to be non-nil");
        let sys = shared
            .events
            .system()
            .expect("Expected sys.account to be non-nil");
        assert_eq!(sys_acc.name, "SYS", "Found wrong sys.account");
        assert_eq!(
            shared.opts().system_account,
            "SYS",
            "Found wrong sys.account"
        );
        let acc = shared
            .accounts
            .lookup("SYS")
            .expect("System account \"SYS\" not found in s.accounts map");
        assert!(
            std::sync::Arc::ptr_eq(&acc, old_acc),
            "System account pointer was changed during reload"
        );
        assert!(
            std::sync::Arc::ptr_eq(&sys.account, old_acc),
            "Found wrong sys.account"
        );
        assert_eq!(
            sys.internal.client.account_name(),
            "SYS",
            "Found wrong sys.account"
        );
        assert!(
            !sys.internal.client.echo(),
            "Internal clients should always have echo false"
        );
    };

    // The system user listens for ACC's connect and disconnect events; connection names
    // tell them apart.
    let subscribe = |name: &str| {
        let mut c = nats_connect(s.addr(), Auth::Named("sys", "pwd", name)).unwrap();
        c.sub("$SYS.ACCOUNT.ACC.CONNECT", "con");
        c.sub("$SYS.ACCOUNT.ACC.DISCONNECT", "dis");
        c.flush().unwrap();
        c
    };
    let recv = |c: &mut Nc, sid: &str, name: &str| {
        let m = c
            .next_msg(sid, Duration::from_secs(1))
            .unwrap_or_else(|| panic!("{name} Error on next"));
        let ev: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(
            ev["client"]["name"],
            name,
            "{name} wrong message: {}",
            String::from_utf8_lossy(&m.payload)
        );
    };
    let trigger_sys_event = |name: &str, listeners: &mut [&mut Nc]| {
        let c = nats_connect(s.addr(), Auth::Named("usr", "pwd", name)).unwrap();
        drop(c);
        for l in listeners.iter_mut() {
            recv(l, "con", name);
            recv(l, "dis", name);
            l.flush().unwrap();
            assert_eq!(l.pending("con"), 0, "Expected no pending");
            assert_eq!(l.pending("dis"), 0, "Expected no pending");
        }
    };

    test_srv_state(&old_acc);
    let mut c1 = subscribe("SYS1");
    trigger_sys_event("BEFORE1", &mut [&mut c1]);
    trigger_sys_event("BEFORE2", &mut [&mut c1]);

    // Removing an account makes the reload go over every account.
    s.reload_with(
        r#"
    listen: "127.0.0.1:-1"
    system_account: SYS
    accounts {
        SYS {
            users = [
                {user: sys, password: pwd}
            ]
        }
        ACC {
            users = [
                {user: usr, password: pwd}
            ]
        }
    }
    "#,
    );

    test_srv_state(&old_acc);
    let mut c2 = subscribe("SYS2");
    // New and existing subscriptions both get the events.
    trigger_sys_event("AFTER1", &mut [&mut c1, &mut c2]);
    trigger_sys_event("AFTER2", &mut [&mut c1, &mut c2]);
}

/// Go's `configs/reload/tls_multi_cert_{1,2,3}.conf`: `certs` lists of the given pairs,
/// optionally with client verification.
fn tls_multi_cert_conf(names: &[&str], verify: bool) -> String {
    let certs: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                "    {{ cert_file: \"{}\", key_file: \"{}\" }}\n",
                test_cert(&format!("{n}-cert.pem")),
                test_cert(&format!("{n}-key.pem"))
            )
        })
        .collect();
    let verify = if verify {
        format!("  ca_file: \"{}\"\n  verify: true\n", test_cert("ca.pem"))
    } else {
        String::new()
    };
    format!(
        "listen: 127.0.0.1:-1\ntls {{\n  certs = [\n{}  ]\n{verify}  timeout: 2\n}}\n",
        certs.concat()
    )
}

port!("server/reload_test.go::TestConfigReloadRotateTLSMultiCert" => config_reload_rotate_tls_multi_cert);
fn config_reload_rotate_tls_multi_cert() {
    let s = ReloadServer::start(&tls_multi_cert_conf(&["srva"], false));
    // The Go client connects by IP address: no server name is sent.
    let by_ip = || ClientOptions {
        server_name: "127.0.0.1".into(),
        ..ClientOptions::default()
    };
    let mut nc = tls_client::connect(s.addr(), &by_ip().insecure())
        .unwrap_or_else(|e| panic!("Error creating client: {e}"));
    let cert_a = nc.peer_cert.clone().expect("server certificate");
    nc.subscribe("foo", "1");
    nc.flush().unwrap();

    // Rotate the certificate and enable client verification.
    s.reload_with(&tls_multi_cert_conf(&["srva", "srvb"], true));
    assert!(
        tls_client::connect(s.addr(), &by_ip().insecure()).is_err(),
        "Expected connect to fail"
    );
    let with_cert = by_ip()
        .root_ca(test_cert("ca.pem"))
        .client_cert(test_cert("client-cert.pem"), test_cert("client-key.pem"));
    let conn = tls_client::connect(s.addr(), &with_cert)
        .unwrap_or_else(|e| panic!("Error creating client: {e}"));
    let cert_b = conn.peer_cert.clone().expect("server certificate");
    drop(conn);

    // The original connection still publishes and receives.
    nc.publish("foo", b"hello");
    nc.flush().unwrap();
    let m = nc
        .next_msg(Duration::from_secs(2))
        .expect("Error receiving msg");
    assert_eq!(m.payload, b"hello", "Msg is incorrect");

    // Rotate the certificate and disable client verification.
    s.reload_with(&tls_multi_cert_conf(&["srvb"], false));
    let mut nc = tls_client::connect(s.addr(), &by_ip().insecure())
        .unwrap_or_else(|e| panic!("Error creating client: {e}"));
    let cert_c = nc.peer_cert.clone().expect("server certificate");
    nc.subscribe("foo", "1");
    nc.flush().unwrap();

    assert_eq!(cert_a, cert_b, "Expected the same cert");
    assert_ne!(cert_b, cert_c, "Expected a different cert");
}

port!("server/reload_test.go::TestConfigReloadLogging" => config_reload_logging);
/// Three reloads switch the log file and tracing off, on (`debug`, `trace_verbose`:
/// system account traffic traced too) and off again; each file holds exactly what was
/// logged while it was in use.
fn config_reload_logging() {
    let traces = [
        "[TRC]",
        "[DBG]",
        "SYSTEM",
        "MSG_PAYLOAD",
        "$SYS.SERVER.ACCOUNT",
    ];
    let count_matches =
        |log: &str, stmts: &[&str]| stmts.iter().filter(|s| log.contains(*s)).count();
    let did_reload = |log: &str| count_matches(log, &["[INF] Reloaded server configuration"]) == 1;
    let tracing_absent = |log: &str| count_matches(log, &traces) == 0 && did_reload(log);
    let tracing_present =
        |log: &str| count_matches(log, &traces) == traces.len() && did_reload(log);
    let check = |file: &std::path::Path, valid: &dyn Fn(&str) -> bool| {
        let log = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("Error reading log file {}: {e}", file.display()));
        assert!(valid(&log), "{} is not valid: {log}", file.display());
    };

    // Common configuration setting up system accounts: trace_verbose needs it to trace.
    let common = r#"
        port: -1
        system_account: sys
        accounts {
          sys { users = [ {user: sys, pass: "" } ] }
          nats.io: { users = [ { user : bar, pass: "pwd" } ] }
        }
    "#;
    let dir = std::env::temp_dir().join(format!(
        "natsd-reload-logging-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (off_pre, on, off_post) = (
        dir.join("off-pre.log"),
        dir.join("on.log"),
        dir.join("off-post.log"),
    );
    let mut opts = load_config(create_conf_file(common.as_bytes()));
    // Go's test server logs (RunServer keeps logging on for this test's reloads).
    opts.no_log = false;
    let s = ReloadServer {
        conf: opts.config_file.clone().unwrap(),
        srv: run_server(opts),
    };
    let reload = |change: &str| s.reload_with(&format!("{common}\n{change}\n"));

    // A client subscribes and publishes `cnt` messages it receives back.
    let traffic = |cnt: usize| {
        let mut nc = nats_connect(s.addr(), Auth::User("bar", "pwd")).unwrap();
        nc.sub("foo", "1");
        nc.flush().unwrap();
        for _ in 0..cnt {
            nc.publish("foo", "bar");
            assert!(nc.next_msg("1", Duration::from_secs(2)).is_some());
        }
        let _ = nc.send("UNSUB 1\r\n");
        nc.flush().unwrap();
    };

    reload(&format!("log_file: {:?}", off_pre.to_string_lossy()));
    traffic(10); // no trace/debug entries in off-pre.log
    reload(&format!(
        "log_file: {:?}\n debug: true\n trace_verbose: true",
        on.to_string_lossy()
    ));
    traffic(10); // trace/debug entries in on.log
    reload(&format!(
        "log_file: {:?}\n debug: false\n trace_verbose: false",
        off_post.to_string_lossy()
    ));
    traffic(10); // none again in off-post.log

    // The last client's disconnect is logged asynchronously: wait for its account event.
    check_for(Duration::from_secs(2), Duration::from_millis(20), || {
        (s.srv.shared().num_clients() == 0)
            .then_some(())
            .ok_or_else(|| "client still connected".to_string())
    });
    check(&off_pre, &tracing_absent);
    check(&on, &tracing_present);
    check(&off_post, &tracing_absent);
    let _ = std::fs::remove_dir_all(&dir);
}

port!("server/reload_test.go::TestConfigReloadAccountMappings" => config_reload_account_mappings);
fn config_reload_account_mappings() {
    let conf = |mappings: &str| {
        format!(
            "listen: \"127.0.0.1:-1\"\naccounts {{ ACC {{ users = [{{user: usr, password: pwd}}]\n{mappings} }} }}\n"
        )
    };
    let s = ReloadServer::start(&conf("mappings = { foo: bar }"));
    s.reload_with(&conf("mappings = { foo: baz }"));

    let mut nc = nats_connect(s.addr(), Auth::User("usr", "pwd")).unwrap();
    nc.sub("foo", "1");
    nc.sub("baz", "2");
    nc.publish("foo", "");
    nc.flush().unwrap();
    assert_eq!(nc.pending("1"), 0, "Expected 0 msgs for \"foo\"");
    assert_eq!(nc.pending("2"), 1, "Expected 1 msgs for \"baz\"");
    // Drain it off.
    assert!(
        nc.next_msg("2", Duration::from_secs(2)).is_some(),
        "Error receiving msg"
    );

    s.reload_with(&conf(""));
    nc.publish("foo", "");
    nc.flush().unwrap();
    assert_eq!(nc.pending("1"), 1, "Expected 1 msgs for \"foo\"");
    assert_eq!(nc.pending("2"), 0, "Expected 0 msgs for \"baz\"");
}
