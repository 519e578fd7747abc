//! In-process client connections (Go's `Server.InProcessConn`): a client inside the same
//! process talks to the server over an in-memory stream instead of a socket. Such a client
//! is of connection type `IN_PROCESS`, and TLS is optional for it: the INFO says TLS is
//! available rather than required, and the server looks at the client's first bytes to
//! tell a TLS handshake from plain protocol. With `handshake_first`, a client that says
//! nothing for a short while gets the INFO and may then go either way. The connection
//! itself is served by `client::tls_conn::run_in_process`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long an in-process connection on a `handshake_first` server waits for a TLS
/// handshake before sending INFO (Go's `DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_DELAY`).
pub const DEFAULT_HANDSHAKE_FIRST_FALLBACK: Duration = Duration::from_millis(50);

/// A stream whose first bytes were already read: they are read again first.
pub struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Vec<u8>, inner: S) -> Prefixed<S> {
        Prefixed {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pos < self.prefix.len() {
            let n = buf.remaining().min(self.prefix.len() - self.pos);
            let start = self.pos;
            buf.put_slice(&self.prefix[start..start + n]);
            self.pos += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn prefixed_stream_replays_its_prefix_first() {
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(b"world").await.unwrap();
        let mut p = Prefixed::new(b"hello ".to_vec(), b);
        let mut out = vec![0u8; 11];
        p.read_exact(&mut out).await.unwrap();
        assert_eq!(out, b"hello world");
    }

    #[tokio::test]
    async fn in_process_conn_serves_a_client_of_type_in_process() {
        let opts = crate::config::Options {
            host: "127.0.0.1".into(),
            port: -1,
            no_log: true,
            no_sigs: true,
            ..crate::config::Options::default()
        };
        let server = crate::server::Server::new(opts).unwrap();
        server.start().await.unwrap();
        let shared = server.shared().clone();
        let mut conn = shared.in_process_conn();
        let mut buf = vec![0u8; 4096];
        let n = conn.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"INFO "));
        conn.write_all(b"CONNECT {}\r\nPING\r\n").await.unwrap();
        let mut got = Vec::new();
        while !got.windows(6).any(|w| w == b"PONG\r\n") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before PONG");
            got.extend_from_slice(&buf[..n]);
        }
        let clients = shared.clients();
        assert_eq!(clients.len(), 1);
        assert_eq!(
            clients[0].auth.connection_type(),
            crate::auth::ConnectionType::InProcess
        );
        server.shutdown();
    }
}
