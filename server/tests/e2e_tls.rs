//! End-to-end TLS tests with the real async-nats client (rustls) against an in-process
//! natsd: server TLS, mutual TLS, TLS first, `verify_and_map`, and what a plain client
//! sees. Certificates are in `tests/certs` (made by `tests/certs/gen.sh`).

#![allow(clippy::unwrap_used)] // tests fail by panicking

use futures::StreamExt;
use natsd::config::file::apply_config_string;
use natsd::config::Options;
use natsd::logging::CaptureLogger;
use natsd::server::BackgroundServer;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn cert(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/certs")).join(name)
}

fn cert_str(name: &str) -> String {
    cert(name).display().to_string()
}

/// A server on a random local port with `conf` (config file text) applied.
fn server(conf: &str) -> BackgroundServer {
    let mut o = Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_sigs: true,
        no_log: true,
        ..Options::default()
    };
    apply_config_string(&mut o, conf).expect("config");
    BackgroundServer::start(o).expect("start")
}

fn tls_block(extra: &str) -> String {
    format!(
        "tls {{\n cert_file: {:?}\n key_file: {:?}\n ca_file: {:?}\n {extra}\n}}\n",
        cert_str("server-cert.pem"),
        cert_str("server-key.pem"),
        cert_str("ca.pem"),
    )
}

fn url(s: &BackgroundServer) -> String {
    format!("tls://127.0.0.1:{}", s.addr.port())
}

fn client_opts() -> async_nats::ConnectOptions {
    async_nats::ConnectOptions::new()
        .add_root_certificates(cert("ca.pem"))
        .require_tls(true)
        .connection_timeout(Duration::from_secs(3))
}

async fn round_trip(nc: &async_nats::Client) {
    let mut sub = nc.subscribe("tls.test").await.expect("sub");
    nc.flush().await.expect("flush");
    nc.publish("tls.test", "secret".into()).await.expect("pub");
    let m = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(&m.payload[..], b"secret");
}

/// Reads the INFO line a server sends first, in plain text.
fn read_info(stream: &std::net::TcpStream) -> serde_json::Value {
    let mut r = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let json = line.strip_prefix("INFO ").expect("INFO first");
    serde_json::from_str(json.trim_end()).unwrap()
}

#[tokio::test]
async fn tls_client_round_trip() {
    let s = server(&tls_block(""));
    let nc = client_opts().connect(url(&s)).await.expect("connect");
    let info = nc.server_info();
    assert!(info.tls_required);
    round_trip(&nc).await;
    let c = &s.shared().clients()[0];
    let tls = c.tls.get().expect("tls state");
    assert!(tls.version == "1.3" || tls.version == "1.2");
    assert!(tls.peer.is_none());
}

#[tokio::test]
async fn plain_client_is_refused() {
    let s = server(&tls_block(""));
    // async-nats without TLS settings still upgrades on tls_required; a raw client that
    // ignores the INFO and speaks plain text is cut off.
    let mut raw = std::net::TcpStream::connect(s.addr).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let info = read_info(&raw);
    assert_eq!(info["tls_required"], true);
    assert!(info.get("tls_available").is_none());
    assert!(info.get("tls_verify").is_none());
    raw.write_all(b"CONNECT {}\r\nPING\r\n").unwrap();
    let mut buf = Vec::new();
    // The server never answers in plain text: the connection ends.
    let _ = raw.read_to_end(&mut buf);
    assert!(!String::from_utf8_lossy(&buf).contains("PONG"));
}

#[tokio::test]
async fn client_without_server_ca_fails_verification() {
    let s = server(&tls_block(""));
    let r = async_nats::ConnectOptions::new()
        .require_tls(true)
        .connection_timeout(Duration::from_secs(2))
        .connect(url(&s))
        .await;
    assert!(r.is_err());
}

#[tokio::test]
async fn mutual_tls() {
    let s = server(&tls_block("verify: true"));
    let nc = client_opts()
        .add_client_certificate(cert("client-cert.pem"), cert("client-key.pem"))
        .connect(url(&s))
        .await
        .expect("connect with a client certificate");
    assert!(nc.server_info().tls_required);
    let raw = std::net::TcpStream::connect(s.addr).unwrap();
    assert_eq!(read_info(&raw)["tls_verify"], true);
    drop(raw);
    round_trip(&nc).await;
    // The raw connection above may not be unregistered yet: take the TLS one.
    let clients = s.shared().clients();
    let tls = clients
        .iter()
        .find_map(|c| c.tls.get())
        .expect("the client's TLS state");
    let peer = tls.peer.as_ref().expect("peer cert");
    assert_eq!(peer.emails, vec!["derek@nats.io".to_string()]);
    assert_eq!(
        peer.go_subject_string(),
        "CN=localhost,OU=nats.io,O=Synadia,ST=California,C=US"
    );
    // Without a client certificate the handshake fails.
    let r = client_opts().connect(url(&s)).await;
    assert!(r.is_err());
}

#[tokio::test]
async fn tls_handshake_first() {
    let s = server(&tls_block("handshake_first: true"));
    let nc = client_opts()
        .tls_first()
        .connect(url(&s))
        .await
        .expect("connect TLS first");
    assert!(nc.server_info().tls_required);
    round_trip(&nc).await;
    // A client waiting for INFO first gets nothing and never connects.
    let r = client_opts()
        .connection_timeout(Duration::from_millis(500))
        .connect(url(&s))
        .await;
    assert!(r.is_err());
}

#[tokio::test]
async fn tls_handshake_first_with_fallback() {
    let s = server(&tls_block("handshake_first: \"300ms\""));
    let first = client_opts()
        .tls_first()
        .connect(url(&s))
        .await
        .expect("tls first");
    round_trip(&first).await;
    // A normal client gets INFO after the fallback delay and upgrades.
    let normal = client_opts().connect(url(&s)).await.expect("fallback");
    round_trip(&normal).await;
}

#[tokio::test]
async fn allow_non_tls_takes_both() {
    let s = server(&format!("{}\nallow_non_tls: true\n", tls_block("")));
    let tls = client_opts().connect(url(&s)).await.expect("tls");
    assert!(!tls.server_info().tls_required);
    round_trip(&tls).await;
    let plain = async_nats::connect(format!("nats://127.0.0.1:{}", s.addr.port()))
        .await
        .expect("plain");
    round_trip(&plain).await;
    let raw = std::net::TcpStream::connect(s.addr).unwrap();
    let info = read_info(&raw);
    assert_eq!(info["tls_available"], true);
    assert!(info.get("tls_required").is_none());
}

#[tokio::test]
async fn verify_and_map_by_email() {
    let conf = format!(
        "{}\nauthorization {{ users = [ {{user: \"derek@nats.io\"}} ] }}\n",
        tls_block("verify_and_map: true")
    );
    let s = server(&conf);
    let nc = client_opts()
        .add_client_certificate(cert("client-cert.pem"), cert("client-key.pem"))
        .connect(url(&s))
        .await
        .expect("mapped user");
    round_trip(&nc).await;
    let c = &s.shared().clients()[0];
    assert!(c.label().contains("derek@nats.io"), "{}", c.label());
}

#[tokio::test]
async fn verify_and_map_unknown_user_is_refused() {
    let conf = format!(
        "{}\nauthorization {{ users = [ {{user: \"someone-else\"}} ] }}\n",
        tls_block("verify_and_map: true")
    );
    let s = server(&conf);
    let r = client_opts()
        .add_client_certificate(cert("client-cert.pem"), cert("client-key.pem"))
        .max_reconnects(1)
        .connect(url(&s))
        .await;
    assert!(r.is_err());
}

#[tokio::test]
async fn tls_handshake_timeout_closes_with_go_log_line() {
    let s = server(&tls_block("timeout: 0.5"));
    // /varz reports the TLS settings in force.
    let v = natsd::monitor::varz(s.shared());
    assert_eq!(v.tls_timeout, 0.5);
    assert!(v.tls_required && !v.tls_verify);
    let cap = Arc::new(CaptureLogger::retaining());
    s.shared()
        .logging
        .set_logger(Some(cap.clone()), true, false);
    let raw = std::net::TcpStream::connect(s.addr).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    let _ = read_info(&raw);
    // Say nothing: the handshake times out and the server closes.
    let mut buf = Vec::new();
    let started = std::time::Instant::now();
    let _ = (&raw).read_to_end(&mut buf);
    assert!(started.elapsed() < Duration::from_secs(3));
    // Go's `tlsTimeout` sends this before closing.
    assert_eq!(
        String::from_utf8_lossy(&buf),
        "-ERR 'Secure Connection - TLS Required'\r\n"
    );
    let deadline = std::time::Instant::now() + WAIT;
    while cap.containing("TLS handshake timeout").is_empty() {
        assert!(std::time::Instant::now() < deadline, "{:?}", cap.messages());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let line = &cap.containing("TLS handshake timeout")[0];
    assert!(line.ends_with(" - TLS handshake timeout"), "{line}");
    // The line is logged just before the connection is unregistered.
    while s.shared().num_clients() != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "client still registered"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
