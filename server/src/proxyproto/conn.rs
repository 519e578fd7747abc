//! Reading a PROXY header off a freshly accepted connection (the I/O around
//! [`super::parse`]).
//!
//! The socket is only peeked until a verdict, and then exactly the header's bytes are
//! taken: whatever follows (the client's CONNECT, a TLS handshake) stays in the socket for
//! the next layer, and a connection without a PROXY header loses nothing.

use super::{parse, Parse, Pending, ProxyAddr, ProxyError, StreamEnd, DETECT_LEN, READ_TIMEOUT};
use crate::client::Client;
use crate::closed::ClosedState;
use crate::server::ServerShared;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::io::{AsyncReadExt, Interest};
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout_at, Duration, Instant};

/// How often a connection that has sent fewer than [`DETECT_LEN`] bytes is looked at again
/// (those bytes cannot be taken yet: they may be the client's own).
const SHORT_PREFIX_POLL: Duration = Duration::from_millis(10);

/// The largest look at the socket at a time.
const PEEK_SIZE: usize = 4096;

/// What the start of a connection held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No PROXY header: nothing was taken from the connection.
    NotProxy,
    /// A header without an address (v2 LOCAL or UNSPEC, v1 UNKNOWN): the connection's own
    /// address stands.
    NoAddress,
    /// The client's address (and the one it connected to).
    Proxied(ProxyAddr),
}

/// Reads the PROXY header at the start of `stream`, if it has one, with nats-server's
/// deadlines: up to `wait` for the first 6 bytes, then up to `wait` again from then on for
/// the rest. Exactly the header's bytes are taken.
pub async fn read_header(stream: &mut TcpStream, wait: Duration) -> Result<Outcome, ProxyError> {
    // Bytes of the header taken off the socket so far.
    let mut taken: Vec<u8> = Vec::new();
    let mut peeked = vec![0u8; PEEK_SIZE];
    let mut detected = false;
    let mut deadline = Instant::now() + wait;
    loop {
        let n = match timeout_at(deadline, stream.peek(&mut peeked)).await {
            Err(_) if !detected => {
                // The first 6 bytes may take one deadline; the rest gets a new one.
                detected = true;
                deadline = Instant::now() + wait;
                continue;
            }
            Err(_) => return Err(pending(&taken).error(&timed_out(stream))),
            Ok(Err(e)) => return Err(pending(&taken).error(&failed(stream, &e))),
            Ok(Ok(0)) => return Err(pending(&taken).error(&StreamEnd::Eof)),
            Ok(Ok(n)) => n,
        };
        let mut seen = taken.clone();
        seen.extend_from_slice(&peeked[..n]);
        match parse(&seen)? {
            Parse::NotProxy => return Ok(Outcome::NotProxy),
            Parse::Parsed { addr, consumed } => {
                let rest = consumed - taken.len();
                stream
                    .read_exact(&mut peeked[..rest])
                    .await
                    .map_err(|e| pending(&taken).error(&failed(stream, &e)))?;
                return Ok(addr.map_or(Outcome::NoAddress, Outcome::Proxied));
            }
            Parse::NeedMore(p) if seen.len() >= DETECT_LEN => {
                if !detected {
                    detected = true;
                    deadline = Instant::now() + wait;
                }
                // A header has begun and is not complete: every byte seen belongs to it.
                stream
                    .read_exact(&mut peeked[..n])
                    .await
                    .map_err(|e| p.error(&failed(stream, &e)))?;
                taken.extend_from_slice(&peeked[..n]);
            }
            Parse::NeedMore(p) => {
                // Too few bytes to tell; a closed peer will send no more.
                let ready = stream
                    .ready(Interest::READABLE)
                    .await
                    .map_err(|e| p.error(&failed(stream, &e)))?;
                if ready.is_read_closed() {
                    return Err(p.error(&StreamEnd::Eof));
                }
                let now = Instant::now();
                if now >= deadline {
                    if detected {
                        return Err(p.error(&timed_out(stream)));
                    }
                    detected = true;
                    deadline = now + wait;
                }
                sleep_until(deadline.min(now + SHORT_PREFIX_POLL)).await;
            }
        }
    }
}

/// What a read would still wait for after `taken` (never complete: a header in progress).
fn pending(taken: &[u8]) -> Pending {
    match parse(taken) {
        Ok(Parse::NeedMore(p)) => p,
        // Not reached: bytes are only taken while the header is incomplete.
        _ => Pending {
            step: super::Step::Version,
            have: 0,
        },
    }
}

/// Go prints an address with IPv4-mapped IPv6 as plain IPv4.
fn go_addr(a: io::Result<SocketAddr>) -> String {
    match a {
        Ok(a) => SocketAddr::new(a.ip().to_canonical(), a.port()).to_string(),
        Err(_) => String::new(),
    }
}

/// The read error as Go's `net.OpError` prints it: `read tcp <local>-><remote>: ...`.
fn op_error(stream: &TcpStream, what: &str) -> String {
    format!(
        "read tcp {}->{}: {what}",
        go_addr(stream.local_addr()),
        go_addr(stream.peer_addr())
    )
}

fn timed_out(stream: &TcpStream) -> StreamEnd {
    StreamEnd::TimedOut(op_error(stream, "i/o timeout"))
}

fn failed(stream: &TcpStream, e: &io::Error) -> StreamEnd {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return StreamEnd::Eof;
    }
    let text = match e.raw_os_error() {
        // Go's errno texts are strerror's, starting lower case.
        Some(code) => {
            let desc = nix::errno::Errno::from_raw(code).desc();
            let mut chars = desc.chars();
            let first = chars.next().map(|c| c.to_ascii_lowercase());
            format!(
                "read: {}{}",
                first.map(String::from).unwrap_or_default(),
                chars.as_str()
            )
        }
        None => e.to_string(),
    };
    StreamEnd::Failed(op_error(stream, &text))
}

/// The accept path of a client connection when `proxy_protocol` is on (nats-server's
/// `createClient`): the INFO goes out at once (without `client_ip`, which would be the
/// proxy's), then the PROXY header is read (see [`read_client_addr`]), then the connection
/// goes on to its reader and writer.
pub(crate) async fn accept(
    s: Arc<ServerShared>,
    mut stream: TcpStream,
    client: Arc<Client>,
    info: bytes::Bytes,
) {
    if send_info(&s, &mut stream, &client, &info).await
        && read_client_addr(&s, &mut stream, &client).await
    {
        crate::client::run_connection(s, stream, client).await;
    }
}

/// Writes the INFO straight to the socket: the writer task does not run yet, and a client
/// that is not behind a proxy waits for it before sending anything.
pub(crate) async fn send_info(
    s: &ServerShared,
    stream: &mut TcpStream,
    client: &Arc<Client>,
    info: &[u8],
) -> bool {
    let sent = timeout_at(
        Instant::now() + s.opts().write_deadline,
        stream.write_all(info),
    )
    .await;
    if matches!(sent, Ok(Ok(()))) {
        return true;
    }
    s.close_client(client, ClosedState::WriteError, false);
    false
}

/// Reads the PROXY header, if any, before anything else (a TLS handshake included, as the
/// header is sent in the clear). Its source becomes the client's address in connz and later
/// INFOs; log lines keep naming the proxy, as in nats-server. A broken header closes the
/// connection as a protocol violation. Returns whether the connection goes on.
pub(crate) async fn read_client_addr(
    s: &ServerShared,
    stream: &mut TcpStream,
    client: &Arc<Client>,
) -> bool {
    let result = tokio::select! {
        r = read_header(stream, READ_TIMEOUT) => r,
        // Closed meanwhile (shutdown): nothing more to do here.
        _ = client.wait_closed() => return false,
    };
    match result {
        Ok(Outcome::Proxied(addr)) => {
            client.set_proxied_addr(addr.src.ip().to_string(), addr.src.port());
            true
        }
        Ok(Outcome::NotProxy | Outcome::NoAddress) => true,
        Err(e) => {
            crate::warn!(
                s.logging,
                "Error reading PROXY protocol header from {}: {e}",
                crate::server::join_host_port(&client.host, client.port)
            );
            s.close_client(client, ClosedState::ProtocolViolation, false);
            false
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Options;
    use crate::logging::{CaptureLogger, Level};
    use crate::monitor::{connz, ConnState, ConnzOptions};
    use crate::server::BackgroundServer;
    use std::io::{Read, Write};
    use std::time::Duration as StdDuration;

    fn proxy_server() -> (BackgroundServer, Arc<CaptureLogger>) {
        let s = BackgroundServer::start(Options {
            host: "127.0.0.1".to_string(),
            port: -1,
            no_log: true,
            no_sigs: true,
            proxy_protocol: true,
            ..Options::default()
        })
        .unwrap();
        let cap = Arc::new(CaptureLogger::retaining());
        s.shared()
            .logging
            .set_logger(Some(cap.clone()), false, false);
        (s, cap)
    }

    /// Reads until `want` has arrived, the connection closes or 3 s pass; returns it all.
    fn read_until(c: &mut std::net::TcpStream, want: &str) -> String {
        c.set_read_timeout(Some(StdDuration::from_millis(50)))
            .unwrap();
        let end = std::time::Instant::now() + StdDuration::from_secs(3);
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while std::time::Instant::now() < end && !String::from_utf8_lossy(&got).contains(want) {
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    fn closed_reasons(s: &BackgroundServer) -> Vec<String> {
        let opts = ConnzOptions {
            state: ConnState::Closed,
            ..ConnzOptions::default()
        };
        let cz = connz(s.shared(), &opts).unwrap();
        cz.conns().iter().map(|c| c.reason.clone()).collect()
    }

    #[test]
    fn broken_header_is_a_protocol_violation() {
        let (s, cap) = proxy_server();
        let mut c = std::net::TcpStream::connect(s.addr).unwrap();
        let me = c.local_addr().unwrap();
        let info = read_until(&mut c, "\r\n");
        assert!(
            info.starts_with("INFO ") && !info.contains("client_ip"),
            "{info}"
        );
        c.write_all(b"PROXY TCP4 1.2.3.4\r\nCONNECT {}\r\n")
            .unwrap();
        // Closed without another word.
        assert_eq!(read_until(&mut c, "never"), "");
        let want = format!(
            "Error reading PROXY protocol header from {me}: invalid PROXY protocol header: invalid v1 format"
        );
        assert!(
            cap.entries().contains(&(Level::Warn, want)),
            "{:?}",
            cap.messages()
        );
        assert_eq!(closed_reasons(&s), ["Protocol Violation"]);
        assert_eq!(s.shared().num_clients(), 0);
    }

    #[test]
    fn a_short_start_then_close_fails_at_once() {
        let (s, cap) = proxy_server();
        let mut c = std::net::TcpStream::connect(s.addr).unwrap();
        read_until(&mut c, "\r\n");
        let start = std::time::Instant::now();
        c.write_all(b"PR").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(read_until(&mut c, "never"), "");
        assert!(start.elapsed() < StdDuration::from_secs(2));
        assert!(
            cap.messages()
                .iter()
                .any(|m| m.ends_with(": failed to read protocol version: unexpected EOF")),
            "{:?}",
            cap.messages()
        );
    }

    #[test]
    fn proxied_and_direct_clients_side_by_side() {
        let (s, _) = proxy_server();
        // Behind a proxy, the header in pieces: the address is the header's, in connz and
        // in the INFO after the first PONG.
        let mut p = std::net::TcpStream::connect(s.addr).unwrap();
        read_until(&mut p, "\r\n");
        for part in [
            &b"PRO"[..],
            b"XY TCP6 2001:db8::9 ",
            b"::1 4000 4222\r",
            b"\nCONNECT ",
        ] {
            p.write_all(part).unwrap();
            std::thread::sleep(StdDuration::from_millis(30));
        }
        p.write_all(b"{\"verbose\":false,\"protocol\":1}\r\nPING\r\n")
            .unwrap();
        let got = read_until(&mut p, "\"connect_info\":true");
        assert!(got.starts_with("PONG\r\nINFO "), "{got}");
        assert!(got.contains("\"client_ip\":\"2001:db8::9\""), "{got}");
        // Direct: its own address, and the INFO says nothing of it at first either.
        let mut d = std::net::TcpStream::connect(s.addr).unwrap();
        let me = d.local_addr().unwrap();
        let info = read_until(&mut d, "\r\n");
        assert!(!info.contains("client_ip"), "{info}");
        d.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
            .unwrap();
        assert_eq!(read_until(&mut d, "PONG\r\n"), "PONG\r\n");
        let cz = connz(s.shared(), &ConnzOptions::default()).unwrap();
        let mut addrs: Vec<(String, i64)> =
            cz.conns().iter().map(|c| (c.ip.clone(), c.port)).collect();
        addrs.sort();
        assert_eq!(
            addrs,
            [
                ("127.0.0.1".to_string(), i64::from(me.port())),
                ("2001:db8::9".to_string(), 4000)
            ]
        );
    }

    #[test]
    fn startup_notice_follows_the_listen_line() {
        let logging = Arc::new(crate::logging::Logging::new());
        let cap = Arc::new(CaptureLogger::retaining());
        logging.set_logger(Some(cap.clone()), false, false);
        let s = crate::server::Server::with_logging(
            Options {
                host: "127.0.0.1".to_string(),
                port: -1,
                no_sigs: true,
                proxy_protocol: true,
                ..Options::default()
            },
            logging,
        )
        .unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(s.start()).unwrap();
        let msgs = cap.messages();
        let listen = msgs
            .iter()
            .position(|m| m.starts_with("Listening for client connections on "))
            .unwrap();
        assert_eq!(
            msgs[listen + 1],
            "PROXY protocol enabled for client connections"
        );
        s.shutdown();
    }

    #[tokio::test]
    async fn deadlines_as_go() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let wait = Duration::from_millis(200);
        // A v1 line begun and never finished: one deadline after the first 6 bytes.
        let mut peer = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (mut conn, _) = l.accept().await.unwrap();
        peer.write_all(b"PROXY TCP4").await.unwrap();
        let start = Instant::now();
        let e = read_header(&mut conn, wait).await.unwrap_err();
        let took = start.elapsed();
        assert!(took >= wait && took < 2 * wait, "{took:?}");
        let local = conn.local_addr().unwrap();
        let remote = conn.peer_addr().unwrap();
        assert_eq!(
            e.to_string(),
            format!("failed to read v1 line: read tcp {local}->{remote}: i/o timeout")
        );
        // Fewer than 6 bytes: the first deadline passes, then a second one.
        let mut peer = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (mut conn, _) = l.accept().await.unwrap();
        peer.write_all(b"PR").await.unwrap();
        let start = Instant::now();
        let e = read_header(&mut conn, wait).await.unwrap_err();
        assert!(start.elapsed() >= 2 * wait, "{:?}", start.elapsed());
        assert!(
            e.to_string()
                .starts_with("failed to read protocol version: read tcp ")
                && e.to_string().ends_with(": i/o timeout"),
            "{e}"
        );
        // Nothing at all, closed: EOF.
        let peer = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (mut conn, _) = l.accept().await.unwrap();
        drop(peer);
        let e = read_header(&mut conn, wait).await.unwrap_err();
        assert_eq!(e.to_string(), "failed to read protocol version: EOF");
    }
}
