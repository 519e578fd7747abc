//! A client connection on a TLS listener, up to the point where it runs like any other:
//! INFO in plain text then the client's handshake (the normal flow), or the handshake
//! first (`handshake_first`, with an optional fallback to the normal flow), or plain text
//! when `allow_non_tls` lets a client skip TLS. The handshake has `tls.timeout`; a client
//! certificate must match `pinned_certs` when those are set.

use super::Client;
use crate::closed::ClosedState;
use crate::protocol::encode;
use crate::server::ServerShared;
use crate::tls::{TlsConfig, TlsState};
use bytes::BytesMut;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The first byte of a TLS handshake record.
pub(crate) const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Whether the client sends something within `wait` (without consuming it); the first
/// byte when it does.
async fn first_byte_within(stream: &TcpStream, wait: Duration) -> Option<u8> {
    let mut b = [0u8; 1];
    match tokio::time::timeout(wait, stream.peek(&mut b)).await {
        Ok(Ok(n)) if n > 0 => Some(b[0]),
        _ => None,
    }
}

/// Writes what is queued for the client (its INFO) straight to the socket, before the
/// writer task exists: it must go out in plain text ahead of the handshake.
async fn write_queued<S: AsyncWrite + Unpin>(
    client: &Client,
    stream: &mut S,
) -> std::io::Result<()> {
    let mut buf = BytesMut::new();
    client.out.lock().take(&mut buf);
    let r = stream.write_all(&buf).await;
    client.out.lock().written(buf.len());
    r
}

/// Queues the INFO for `client`; `tls_required` overrides the server's value (a TLS-first
/// connection says TLS is required even where plain clients are allowed, as Go does).
/// `before_proxy_header`: a PROXY header may still come, so `client_ip` would be the
/// proxy's (left out when `proxy_protocol` is on, as Go).
pub(crate) fn queue_info(
    server: &ServerShared,
    client: &Client,
    tls_required: Option<bool>,
    before_proxy_header: bool,
) {
    let json = if before_proxy_header {
        server.first_info_json_for(client)
    } else {
        server.info_json_for(client)
    };
    let json = match tls_required {
        Some(req) => with_tls_required(&json, req),
        None => json,
    };
    let mut b = BytesMut::new();
    encode::info(&mut b, &json);
    client.send_proto(&b);
}

/// The INFO JSON with `tls_required` set to `req` (the field is left out when false).
pub(crate) fn with_tls_required(json: &[u8], req: bool) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(json)
    else {
        return json.to_vec();
    };
    if req {
        v.insert("tls_required".into(), serde_json::Value::Bool(true));
    } else {
        v.remove("tls_required");
    }
    serde_json::to_vec(&v).unwrap_or_else(|_| json.to_vec())
}

/// Logs a failed TLS handshake (a probe that was no TLS client at debug level, as Go)
/// and closes the connection.
fn handshake_failed(server: &ServerShared, client: &Arc<Client>, label: &str, e: &std::io::Error) {
    if is_probe_error(e) {
        crate::debug!(server.logging, "{label} - TLS handshake error: {e}");
    } else {
        crate::error!(server.logging, "{label} - TLS handshake error: {e}");
    }
    server.close_client(client, ClosedState::TlsHandshakeError, false);
}

/// Whether a handshake failure looks like a client that does not speak TLS at all (a
/// probe or a load balancer's health check): Go logs those at debug level only.
pub(crate) fn is_probe_error(e: &std::io::Error) -> bool {
    matches!(
        e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType
        ))
    )
}

/// Every second, warns how many connections the TLS rate limit refused (Go's
/// `logRejectedTLSConns`); ends when the server shuts down.
pub async fn log_rejected_tls_conns(server: Arc<ServerShared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        if server.is_shutting_down() {
            return;
        }
        let blocked = match &server.tls_rate {
            Some(r) => r.lock().count_blocked(),
            None => return,
        };
        if blocked > 0 {
            crate::warn!(
                server.logging,
                "Rejected {blocked} connections due to TLS rate limiting"
            );
        }
    }
}

/// The stream and a second (blocking) handle on the same socket.
fn with_spare_handle(
    stream: TcpStream,
) -> std::io::Result<(TcpStream, Option<std::net::TcpStream>)> {
    let std_stream = stream.into_std()?;
    let spare = std_stream.try_clone().ok();
    Ok((TcpStream::from_std(std_stream)?, spare))
}

/// Serves a connection accepted on a TLS listener. `info_queued`: the accept path already
/// queued the INFO (not with `handshake_first`).
pub async fn run_tls_connection(
    server: Arc<ServerShared>,
    mut stream: TcpStream,
    client: Arc<Client>,
    cfg: Arc<TlsConfig>,
) {
    let _ = stream.set_nodelay(true);
    let opts = server.opts();
    // Refused at accept (shutting down, too many connections): INFO and -ERR go out in
    // plain text, as they do in Go before any handshake.
    if client.is_closed() {
        return super::run_connection(server, stream, client).await;
    }
    let mut tls_first = opts.tls_handshake_first;
    if tls_first && !opts.tls_handshake_first_fallback.is_zero() {
        // Only a TLS-first client talks before it has seen INFO.
        if first_byte_within(&stream, opts.tls_handshake_first_fallback)
            .await
            .is_none()
        {
            tls_first = false;
            queue_info(&server, &client, None, true);
        }
    }
    if !tls_first && write_queued(&client, &mut stream).await.is_err() {
        server.close_client(&client, ClosedState::WriteError, false);
        return;
    }
    // The PROXY header comes in plain text before anything else, a TLS handshake too.
    if opts.proxy_protocol
        && !crate::proxyproto::conn::read_client_addr(&server, &mut stream, &client).await
    {
        return;
    }
    if !tls_first && opts.allow_non_tls {
        let first = first_byte_within(&stream, opts.tls_timeout).await;
        if first != Some(TLS_HANDSHAKE_RECORD) {
            return super::run_connection(server, stream, client).await;
        }
    }
    if let Some(rate) = &server.tls_rate {
        if !rate.lock().allow(std::time::Instant::now()) {
            // Still plain text: the handshake has not started.
            client.send_err("Connection throttling is active. Please try again later.");
            let _ = write_queued(&client, &mut stream).await;
            server.close_client(&client, ClosedState::MaxConnectionsExceeded, false);
            return;
        }
    }
    let label = client.label();
    crate::debug!(
        server.logging,
        "{label} - Starting TLS client connection handshake"
    );
    // A second handle on the socket, for the -ERR of a timed-out handshake (in plain
    // text: the handshake never completed).
    let (stream, spare) = match with_spare_handle(stream) {
        Ok(pair) => pair,
        Err(_) => {
            server.close_client(&client, ClosedState::ReadError, false);
            return;
        }
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(cfg.server.clone());
    let handshake = tokio::select! {
        r = tokio::time::timeout(opts.tls_timeout, acceptor.accept(stream)) => r,
        // Closed meanwhile (shutdown): nothing more to do.
        _ = client.reader_kill.notified() => return,
    };
    let tls = match handshake {
        Err(_) => {
            // Go logs both its timer's line and the handshake's read timeout, at debug
            // level for clients (probes and slow clients are common).
            crate::debug!(server.logging, "{label} - TLS handshake timeout");
            crate::debug!(
                server.logging,
                "{label} - TLS handshake error: read tcp: i/o timeout"
            );
            if let Some(mut s) = spare {
                let mut b = BytesMut::new();
                encode::err(&mut b, "Secure Connection - TLS Required");
                let _ = std::io::Write::write_all(&mut s, &b);
            }
            server.close_client(&client, ClosedState::TlsHandshakeError, false);
            return;
        }
        Ok(Err(e)) => {
            handshake_failed(&server, &client, &label, &e);
            return;
        }
        Ok(Ok(s)) => s,
    };
    drop(spare);
    let (_, conn) = tls.get_ref();
    if !handshake_done(&server, &client, conn, tls_first) {
        return;
    }
    if tls_first {
        queue_info(&server, &client, Some(true), false);
    }
    super::reader::run_stream(server, tls, client).await;
}

/// Reads what the client sends first, up to a few bytes, waiting at most `wait`.
async fn first_bytes<S: AsyncRead + Unpin>(stream: &mut S, wait: Duration) -> Vec<u8> {
    let mut b = [0u8; 6];
    match tokio::time::timeout(wait, stream.read(&mut b)).await {
        Ok(Ok(n)) => b[..n].to_vec(),
        _ => Vec::new(),
    }
}

/// Serves an in-process client. Its INFO is already queued, except with
/// `handshake_first`, where it follows the handshake or the fallback delay.
pub async fn run_in_process<S>(server: Arc<ServerShared>, mut stream: S, client: Arc<Client>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let opts = server.opts();
    let Some(cfg) = opts.tls_config.clone() else {
        return super::reader::run_stream(server, stream, client).await;
    };
    if client.is_closed() {
        return super::reader::run_stream(server, stream, client).await;
    }
    let mut tls_first = opts.tls_handshake_first;
    let mut pre = Vec::new();
    if tls_first {
        let wait = if opts.tls_handshake_first_fallback.is_zero() {
            crate::tls::in_process::DEFAULT_HANDSHAKE_FIRST_FALLBACK
        } else {
            opts.tls_handshake_first_fallback
        };
        pre = first_bytes(&mut stream, wait).await;
        if pre.is_empty() {
            tls_first = false;
            queue_info(&server, &client, None, true);
        }
    }
    if !tls_first {
        if write_queued(&client, &mut stream).await.is_err() {
            server.close_client(&client, ClosedState::WriteError, false);
            return;
        }
        pre = first_bytes(&mut stream, opts.tls_timeout).await;
        if pre.first() != Some(&TLS_HANDSHAKE_RECORD) {
            let stream = crate::tls::in_process::Prefixed::new(pre, stream);
            return super::reader::run_stream(server, stream, client).await;
        }
    }
    let label = client.label();
    crate::debug!(
        server.logging,
        "{label} - Starting TLS client connection handshake"
    );
    let acceptor = tokio_rustls::TlsAcceptor::from(cfg.server.clone());
    let handshake = tokio::select! {
        r = tokio::time::timeout(opts.tls_timeout, acceptor.accept(crate::tls::in_process::Prefixed::new(pre, stream))) => r,
        _ = client.reader_kill.notified() => return,
    };
    let tls = match handshake {
        Err(_) => {
            crate::debug!(server.logging, "{label} - TLS handshake timeout");
            server.close_client(&client, ClosedState::TlsHandshakeError, false);
            return;
        }
        Ok(Err(e)) => {
            handshake_failed(&server, &client, &label, &e);
            return;
        }
        Ok(Ok(s)) => s,
    };
    let (_, conn) = tls.get_ref();
    if !handshake_done(&server, &client, conn, tls_first) {
        return;
    }
    if tls_first {
        // After a TLS-first handshake the INFO says TLS is required, as Go's does.
        queue_info(&server, &client, Some(true), false);
    }
    super::reader::run_stream(server, tls, client).await;
}

/// After a completed handshake: records the session on the client and checks the client
/// certificate against `pinned_certs` (closing the client when it fails). Returns whether
/// the connection goes on.
pub(crate) fn handshake_done(
    server: &ServerShared,
    client: &Arc<Client>,
    conn: &rustls::ServerConnection,
    tls_first: bool,
) -> bool {
    let opts = server.opts();
    let label = client.label();
    let peer_chain = conn.peer_certificates().unwrap_or_default();
    let state = TlsState {
        version: conn
            .protocol_version()
            .map(|v| crate::tls::version_name(u16::from(v)))
            .unwrap_or_default(),
        cipher: conn
            .negotiated_cipher_suite()
            .map(|s| crate::tls::cipher_name(s.suite()))
            .unwrap_or_default(),
        peer: peer_chain
            .first()
            .and_then(|c| crate::tls::x509::parse_certificate(c)),
        peer_chain_len: peer_chain.len(),
        first: tls_first,
        peer_certs: peer_chain
            .iter()
            .map(|c| crate::tls::PeerCert::of(c))
            .collect(),
    };
    if let Some(pins) = &opts.tls_pinned_certs {
        let pinned = match &state.peer {
            None => {
                crate::debug!(
                    server.logging,
                    "{label} - Failed pinned cert test as client did not provide a certificate"
                );
                false
            }
            Some(p) if !pins.contains(&p.spki_sha256) => {
                crate::debug!(
                    server.logging,
                    "{label} - Failed pinned cert test for key id: {}",
                    p.spki_sha256
                );
                false
            }
            Some(_) => true,
        };
        if !pinned {
            crate::error!(
                server.logging,
                "{label} - TLS handshake error: certificate not pinned"
            );
            server.close_client(client, ClosedState::TlsHandshakeError, false);
            return false;
        }
    }
    crate::debug!(server.logging, "{label} - TLS handshake complete");
    crate::debug!(
        server.logging,
        "{label} - TLS version {}, cipher suite {}",
        state.version,
        state.cipher
    );
    let _ = client.tls.set(state);
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tls_required_override() {
        let j = with_tls_required(br#"{"a":1,"tls_available":true}"#, true);
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(v["tls_required"], true);
        assert_eq!(v["tls_available"], true);
        let j = with_tls_required(br#"{"tls_required":true}"#, false);
        assert_eq!(j, b"{}");
    }
}
