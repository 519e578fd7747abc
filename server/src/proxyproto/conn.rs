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
/// proxy's), then the PROXY header is read and its source becomes the client's address in
/// connz and later INFOs; log lines keep naming the proxy, as in nats-server. A broken
/// header closes the connection as a protocol violation; otherwise the connection goes on
/// to its reader and writer.
pub(crate) async fn accept(
    s: Arc<ServerShared>,
    mut stream: TcpStream,
    client: Arc<Client>,
    info: bytes::Bytes,
) {
    if read_client_addr(&s, &mut stream, &client, &info).await {
        crate::client::run_connection(s, stream, client).await;
    }
}

async fn read_client_addr(
    s: &Arc<ServerShared>,
    stream: &mut TcpStream,
    client: &Arc<Client>,
    info: &[u8],
) -> bool {
    let sent = timeout_at(
        Instant::now() + s.opts.write_deadline,
        stream.write_all(info),
    )
    .await;
    if !matches!(sent, Ok(Ok(()))) {
        s.close_client(client, ClosedState::WriteError, false);
        return false;
    }
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
