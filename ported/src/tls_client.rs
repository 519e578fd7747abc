//! A small blocking NATS client that connects the way the Go client (`nats.Connect`) does
//! where the TLS tests depend on it: read INFO, upgrade to TLS when the server requires it
//! or the client asks for it (or handshake first), verify the server against the given
//! CA only, present a client certificate when given one, then CONNECT + PING and wait for
//! PONG (an `-ERR` or a closed connection fails the connect). After that it subscribes,
//! publishes, flushes, and collects messages and asynchronous `-ERR`s.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a client connects (the Go client's options the tests use).
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `nats.RootCAs`: the only CA trusted for the server's certificate.
    pub root_ca: Option<PathBuf>,
    /// `nats.ClientCert`: certificate and key files.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// `nats.Secure` / a `tls://` URL: insist on TLS.
    pub secure: bool,
    /// `nats.TLSHandshakeFirst`.
    pub tls_first: bool,
    pub user: Option<(String, String)>,
    /// Name checked against the server's certificate.
    pub server_name: String,
    /// TLS 1.2 only, with these suites (rustls names), when set.
    pub tls12_suites: Option<Vec<rustls::SupportedCipherSuite>>,
    /// Key exchange groups, when set.
    pub kx_groups: Option<Vec<&'static dyn rustls::crypto::SupportedKxGroup>>,
    /// How long connecting may take, handshake and first PONG included.
    pub timeout: Duration,
    /// Waits this long after the TCP connect before doing anything (the Go tests'
    /// `pauseAfterDial` dialer).
    pub dial_pause: Duration,
    /// Go's `InsecureSkipVerify`: any server certificate is accepted.
    pub insecure: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            root_ca: None,
            client_cert: None,
            secure: true,
            tls_first: false,
            user: None,
            server_name: "localhost".into(),
            tls12_suites: None,
            kx_groups: None,
            timeout: Duration::from_secs(3),
            dial_pause: Duration::ZERO,
            insecure: false,
        }
    }
}

impl ClientOptions {
    pub fn root_ca(mut self, p: impl AsRef<Path>) -> Self {
        self.root_ca = Some(p.as_ref().to_path_buf());
        self
    }

    pub fn client_cert(mut self, cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Self {
        self.client_cert = Some((cert.as_ref().to_path_buf(), key.as_ref().to_path_buf()));
        self
    }

    pub fn user(mut self, user: &str, pass: &str) -> Self {
        self.user = Some((user.into(), pass.into()));
        self
    }

    pub fn tls_first(mut self) -> Self {
        self.tls_first = true;
        self
    }

    /// Accept any server certificate (Go's `InsecureSkipVerify`).
    pub fn insecure(mut self) -> Self {
        self.insecure = true;
        self
    }

    pub fn plain(mut self) -> Self {
        self.secure = false;
        self
    }

    /// TLS 1.2 only (Go's `MaxVersion: tls.VersionTLS12`).
    pub fn max_tls12(mut self) -> Self {
        self.tls12_suites = Some(
            rustls::crypto::ring::ALL_CIPHER_SUITES
                .iter()
                .filter(|s| s.tls13().is_none())
                .copied()
                .collect(),
        );
        self
    }
}

/// A blocking byte stream the client runs over: TCP, or one end of a Unix socket pair
/// whose other end the server serves as an in-process connection.
pub trait Sock: Read + Write + Send + Sized + 'static {
    fn set_timeout(&self, d: Duration) -> std::io::Result<()>;
    fn clone_sock(&self) -> std::io::Result<Self>;
}

impl Sock for TcpStream {
    fn set_timeout(&self, d: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(d))
    }
    fn clone_sock(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
}

impl Sock for std::os::unix::net::UnixStream {
    fn set_timeout(&self, d: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(d))
    }
    fn clone_sock(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
}

trait Stream: Read + Write + Send {
    fn set_timeout(&self, d: Duration);
}

impl<S: Sock> Stream for S {
    fn set_timeout(&self, d: Duration) {
        let _ = Sock::set_timeout(self, d);
    }
}

impl<S: Sock> Stream for rustls::StreamOwned<rustls::ClientConnection, S> {
    fn set_timeout(&self, d: Duration) {
        let _ = self.sock.set_timeout(d);
    }
}

/// A message received on a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub sid: String,
    pub reply: String,
    pub payload: Vec<u8>,
}

/// A connected client.
pub struct NatsConn {
    stream: Box<dyn Stream>,
    buf: Vec<u8>,
    pub info: serde_json::Value,
    /// `(version, cipher suite)` of the TLS session, as rustls names them.
    pub tls: Option<(String, String)>,
    /// The server's certificate (DER) of the TLS session.
    pub peer_cert: Option<Vec<u8>>,
    msgs: VecDeque<Message>,
    errors: VecDeque<String>,
    pongs: usize,
    closed: bool,
}

fn pem_certs(p: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let data = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

fn pem_key(p: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let data = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no key".to_string())
}

fn tls_config(o: &ClientOptions) -> Result<rustls::ClientConfig, String> {
    let mut provider = rustls::crypto::ring::default_provider();
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> =
        vec![&rustls::version::TLS13, &rustls::version::TLS12];
    if let Some(s) = &o.tls12_suites {
        provider.cipher_suites = s.clone();
        versions = vec![&rustls::version::TLS12];
    }
    if let Some(k) = &o.kx_groups {
        provider.kx_groups = k.clone();
    }
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = &o.root_ca {
        for c in pem_certs(ca)? {
            roots.add(c).map_err(|e| e.to_string())?;
        }
    }
    let provider = Arc::new(provider);
    let b = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?;
    let b = if o.insecure {
        b.dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCert(provider)))
    } else {
        b.with_root_certificates(roots)
    };
    match &o.client_cert {
        Some((c, k)) => b
            .with_client_auth_cert(pem_certs(c)?, pem_key(k)?)
            .map_err(|e| e.to_string()),
        None => Ok(b.with_no_client_auth()),
    }
}

/// Accepts any server certificate (signatures are still checked).
#[derive(Debug)]
struct AnyServerCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The server's certificate of a session.
fn peer_cert<S: Sock>(s: &rustls::StreamOwned<rustls::ClientConnection, S>) -> Option<Vec<u8>> {
    s.conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
}

/// Runs the TLS handshake over `tcp`.
fn handshake<S: Sock>(
    o: &ClientOptions,
    mut tcp: S,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, S>, String> {
    let cfg = tls_config(o)?;
    let name = ServerName::try_from(o.server_name.clone()).map_err(|e| e.to_string())?;
    let mut conn = rustls::ClientConnection::new(Arc::new(cfg), name).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .map_err(|e| format!("tls handshake: {e}"))?;
    }
    Ok(rustls::StreamOwned::new(conn, tcp))
}

/// The version and cipher suite of a session, as rustls names them.
fn session<S: Sock>(s: &rustls::StreamOwned<rustls::ClientConnection, S>) -> (String, String) {
    let v = s
        .conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    let c = s
        .conn
        .negotiated_cipher_suite()
        .map(|c| format!("{:?}", c.suite()))
        .unwrap_or_default();
    (v, c)
}

/// Connects like the Go client; the error is what the client would report.
pub fn connect(addr: SocketAddr, o: &ClientOptions) -> Result<NatsConn, String> {
    let deadline = Instant::now() + o.timeout;
    let tcp = TcpStream::connect_timeout(&addr, o.timeout).map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    std::thread::sleep(o.dial_pause);
    connect_over(tcp, o, deadline)
}

/// Connects through the server's in-process connection (the Go client's
/// `nats.InProcessServer`): the server serves one end of a socket pair as an in-process
/// client, the client runs over the other end.
pub fn connect_in_process(
    srv: &natsd::server::BackgroundServer,
    o: &ClientOptions,
) -> Result<NatsConn, String> {
    let deadline = Instant::now() + o.timeout;
    let (client_end, server_end) =
        std::os::unix::net::UnixStream::pair().map_err(|e| e.to_string())?;
    server_end
        .set_nonblocking(true)
        .map_err(|e| e.to_string())?;
    let shared = srv.shared().clone();
    let (tx, rx) = std::sync::mpsc::channel();
    srv.spawn(async move {
        match tokio::net::UnixStream::from_std(server_end) {
            Ok(s) => {
                shared.accept_in_process(s);
                let _ = tx.send(Ok(()));
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
            }
        }
    });
    rx.recv_timeout(o.timeout).map_err(|e| e.to_string())??;
    connect_over(client_end, o, deadline)
}

/// The client's side of the connection over an established stream.
fn connect_over<S: Sock>(
    sock: S,
    o: &ClientOptions,
    deadline: Instant,
) -> Result<NatsConn, String> {
    sock.set_timeout(o.timeout).map_err(|e| e.to_string())?;
    let mut plain = None;
    let mut nc = if o.tls_first {
        let s = handshake(o, sock)?;
        let state = session(&s);
        let cert = peer_cert(&s);
        let mut nc = NatsConn::new(Box::new(s));
        nc.tls = Some(state);
        nc.peer_cert = cert;
        nc
    } else {
        plain = Some(sock.clone_sock().map_err(|e| e.to_string())?);
        NatsConn::new(Box::new(sock))
    };
    let info = nc.read_info(deadline)?;
    let tls_required = info["tls_required"].as_bool().unwrap_or(false);
    let tls_available = info["tls_available"].as_bool().unwrap_or(false);
    if let Some(plain) = plain {
        if o.secure && !tls_required && !tls_available {
            return Err("nats: secure connection not available".into());
        }
        if o.secure || tls_required {
            // Nothing else was read past INFO: the server waits for the handshake.
            let s = handshake(o, plain)?;
            nc.tls = Some(session(&s));
            nc.peer_cert = peer_cert(&s);
            nc.stream = Box::new(s);
        }
    }
    nc.info = info;
    let mut connect = serde_json::json!({
        "verbose": false,
        "pedantic": false,
        "tls_required": o.secure || o.tls_first,
        "name": "",
        "lang": "rust-test",
        "version": "0.0.0",
        "protocol": 1,
        "echo": true,
        "headers": true,
        "no_responders": true,
    });
    if let Some((u, p)) = &o.user {
        connect["user"] = u.clone().into();
        connect["pass"] = p.clone().into();
    }
    nc.send(format!("CONNECT {connect}\r\nPING\r\n").as_bytes())?;
    let pongs = nc.pongs;
    while nc.pongs == pongs {
        if let Some(e) = nc.errors.pop_front() {
            return Err(format!("nats: {e}"));
        }
        if nc.closed {
            return Err("EOF".into());
        }
        if Instant::now() >= deadline {
            return Err("nats: timeout".into());
        }
        nc.pump_once(deadline);
    }
    Ok(nc)
}

impl NatsConn {
    fn new(stream: Box<dyn Stream>) -> NatsConn {
        NatsConn {
            stream,
            buf: Vec::new(),
            info: serde_json::Value::Null,
            tls: None,
            peer_cert: None,
            msgs: VecDeque::new(),
            errors: VecDeque::new(),
            pongs: 0,
            closed: false,
        }
    }

    fn read_info(&mut self, deadline: Instant) -> Result<serde_json::Value, String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                let json = line
                    .strip_prefix("INFO ")
                    .ok_or_else(|| format!("expected INFO, got {line:?}"))?;
                return serde_json::from_str(json).map_err(|e| e.to_string());
            }
            if self.closed {
                return Err("EOF".into());
            }
            if Instant::now() >= deadline {
                return Err("nats: timeout".into());
            }
            self.read_more(deadline);
        }
    }

    fn send(&mut self, b: &[u8]) -> Result<(), String> {
        self.stream.write_all(b).map_err(|e| e.to_string())?;
        self.stream.flush().map_err(|e| e.to_string())
    }

    fn read_more(&mut self, deadline: Instant) {
        let now = Instant::now();
        let wait = deadline
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        self.stream.set_timeout(wait);
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

    /// Parses what is buffered; reads once more when nothing complete is there.
    fn pump_once(&mut self, deadline: Instant) {
        if !self.parse_one() {
            if self.closed {
                return;
            }
            self.read_more(deadline);
            while self.parse_one() {}
        }
    }

    /// Takes one complete protocol line (and payload) off the buffer.
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
            self.msgs.push_back(Message {
                subject: parts.first().unwrap_or(&"").to_string(),
                sid: parts.get(1).unwrap_or(&"").to_string(),
                reply: if parts.len() == 4 {
                    parts[2].to_string()
                } else {
                    String::new()
                },
                payload,
            });
            return true;
        }
        self.buf.drain(..i + 2);
        if line == "PING" {
            let _ = self.send(b"PONG\r\n");
        } else if line == "PONG" {
            self.pongs += 1;
        } else if let Some(e) = line.strip_prefix("-ERR ") {
            self.errors.push_back(e.trim_matches('\'').to_string());
        } else if let Some(json) = line.strip_prefix("INFO ") {
            // An asynchronous INFO replaces the server's info, as in the Go client.
            if let Ok(v) = serde_json::from_str(json) {
                self.info = v;
            }
        }
        true
    }

    pub fn subscribe(&mut self, subject: &str, sid: &str) {
        self.send(format!("SUB {subject} {sid}\r\n").as_bytes())
            .expect("send SUB");
    }

    pub fn publish(&mut self, subject: &str, payload: &[u8]) {
        self.publish_request(subject, "", payload);
    }

    /// PUB with a reply subject (none when empty).
    pub fn publish_request(&mut self, subject: &str, reply: &str, payload: &[u8]) {
        let reply = if reply.is_empty() {
            String::new()
        } else {
            format!(" {reply}")
        };
        let mut b = format!("PUB {subject}{reply} {}\r\n", payload.len()).into_bytes();
        b.extend_from_slice(payload);
        b.extend_from_slice(b"\r\n");
        self.send(&b).expect("send PUB");
    }

    /// PING and wait for the PONG (Go's `Flush`); `Err` when the connection is gone.
    pub fn flush(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(2);
        self.send(b"PING\r\n")?;
        let pongs = self.pongs;
        while self.pongs == pongs {
            if self.closed {
                return Err("connection closed".into());
            }
            if Instant::now() >= deadline {
                return Err("nats: timeout".into());
            }
            self.pump_once(deadline);
        }
        Ok(())
    }

    /// The next message within `wait`.
    pub fn next_msg(&mut self, wait: Duration) -> Option<Message> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(m) = self.msgs.pop_front() {
                return Some(m);
            }
            if self.closed || Instant::now() >= deadline {
                return None;
            }
            self.pump_once(deadline);
        }
    }

    /// Messages received so far, without waiting (Go's `sub.Pending` after a flush).
    pub fn pending_msgs(&mut self) -> usize {
        while self.parse_one() {}
        self.msgs.len()
    }

    /// Answers requests on `subject` from this same connection and sends one request,
    /// as the Go tests do with `Subscribe(ping, Respond)` then `Request`: whether the
    /// answer came within `wait`.
    pub fn self_request(&mut self, subject: &str, wait: Duration) -> bool {
        self.subscribe(subject, "responder");
        self.subscribe("_INBOX.self.reply", "inbox");
        if self.flush().is_err() {
            return false;
        }
        self.publish_request(subject, "_INBOX.self.reply", b"ping");
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(m) = self.next_msg(left) else {
                return false;
            };
            if m.sid == "responder" && !m.reply.is_empty() {
                let reply = m.reply.clone();
                self.publish(&reply, b"pong");
            } else if m.sid == "inbox" {
                return true;
            }
        }
    }

    /// Reads what has arrived (waiting a few milliseconds at most), then counts the
    /// messages received (for polling with `check_for`).
    pub fn pending_msgs_after_read(&mut self) -> usize {
        let deadline = Instant::now() + Duration::from_millis(5);
        while Instant::now() < deadline && !self.closed {
            self.read_more(deadline);
        }
        self.pending_msgs()
    }

    /// The next asynchronous `-ERR` text within `wait`.
    pub fn next_err(&mut self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(e) = self.errors.pop_front() {
                return Some(e);
            }
            if self.closed || Instant::now() >= deadline {
                return None;
            }
            self.pump_once(deadline);
        }
    }

    /// Whether the server has closed the connection (read until `wait`).
    pub fn wait_closed(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while !self.closed && Instant::now() < deadline {
            self.pump_once(deadline);
        }
        self.closed
    }
}

/// A file of natsd's test certificates (`server/tests/certs`, made by its `gen.sh`).
pub fn test_cert(name: &str) -> String {
    format!(
        "{}/../server/tests/certs/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A TLS connection with nothing sent yet: INFO read in plain text, then the handshake
/// (the Go tests' `tls.Client(conn)` after `checkInfoMsg`). Returns the stream and INFO.
pub fn raw_tls(
    addr: SocketAddr,
    o: &ClientOptions,
) -> Result<
    (
        rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
        serde_json::Value,
    ),
    String,
> {
    let tcp = TcpStream::connect_timeout(&addr, o.timeout).map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    tcp.set_read_timeout(Some(o.timeout))
        .map_err(|e| e.to_string())?;
    // One byte at a time: nothing past the INFO line may be consumed.
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        match (&tcp).read(&mut b) {
            Ok(1) => line.push(b[0]),
            _ => return Err("EOF before INFO".into()),
        }
    }
    let text = String::from_utf8_lossy(&line);
    let json = text
        .strip_prefix("INFO ")
        .ok_or_else(|| format!("expected INFO, got {text:?}"))?;
    let info = serde_json::from_str(json.trim_end()).map_err(|e| e.to_string())?;
    Ok((handshake(o, tcp)?, info))
}

/// An HTTPS GET as Go's `http.Client` with a TLS transport would do it: returns the
/// status code and the body.
pub fn https_get(
    addr: SocketAddr,
    path: &str,
    o: &ClientOptions,
) -> Result<(u16, Vec<u8>), String> {
    let tcp = TcpStream::connect_timeout(&addr, o.timeout).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(o.timeout))
        .map_err(|e| e.to_string())?;
    let mut tls = handshake(o, tcp)?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        o.server_name
    );
    tls.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    // The server closes after the answer; a close without close_notify is fine here.
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.to_string()),
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of HTTP headers")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no HTTP status")?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    Ok((status, body))
}

/// Joins the chunks of a chunked HTTP body.
fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16)
            .map_err(|e| e.to_string())?;
        if size == 0 {
            return Ok(out);
        }
        let start = eol + 2;
        out.extend_from_slice(b.get(start..start + size).ok_or("short chunk")?);
        b = b.get(start + size + 2..).ok_or("short chunk")?;
    }
}

/// Connects to `addr` and runs only the TLS handshake (for listeners that speak TLS
/// first, like HTTPS monitoring).
pub fn tls_handshake(
    addr: SocketAddr,
    o: &ClientOptions,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, String> {
    let tcp = TcpStream::connect_timeout(&addr, o.timeout).map_err(|e| e.to_string())?;
    handshake(o, tcp)
}
