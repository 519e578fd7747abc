//! Server-side sockets with injected write behaviour (Go tests swap a client's `net.Conn`
//! for one that writes short or stalls): the test accepts a real TCP connection itself,
//! wraps the server's end and hands it to the server with `ServerShared::accept_stream`.

use crate::support::RawConn;
use natsd::server::BackgroundServer;
use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How the server's end of the connection writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// At most 10 bytes per write (Go's `shortWriteConn`).
    Short,
    /// Once armed, the next write takes only half of what it is given, plus one byte (Go's
    /// `testConnWritePartial`); writes after it are whole.
    PartialOnce,
    /// Once armed, the next write takes one byte and every write after it never completes
    /// (Go's `writeTimeoutPolicyWriter`, whose writes outlive the deadline).
    StallAfterOneByte,
}

/// The server's end of a test connection.
pub struct FakeSocket {
    inner: TcpStream,
    mode: WriteMode,
    armed: Arc<AtomicBool>,
    stalled: bool,
}

impl AsyncRead for FakeSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FakeSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let n = match this.mode {
            WriteMode::Short => buf.len().min(10),
            WriteMode::PartialOnce if this.armed.swap(false, Ordering::AcqRel) => {
                (buf.len() / 2 + 1).min(buf.len())
            }
            WriteMode::PartialOnce => buf.len(),
            WriteMode::StallAfterOneByte if this.stalled => return Poll::Pending,
            WriteMode::StallAfterOneByte if this.armed.load(Ordering::Acquire) => {
                this.stalled = true;
                buf.len().min(1)
            }
            WriteMode::StallAfterOneByte => buf.len(),
        };
        Pin::new(&mut this.inner).poll_write(cx, &buf[..n])
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A client connection whose server end writes as `mode` says. Returns the client's end,
/// its client id, and the switch that arms `PartialOnce` / `StallAfterOneByte`.
pub fn connect_with_writes(
    srv: &BackgroundServer,
    mode: WriteMode,
) -> (RawConn, u64, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let conn = RawConn::connect(addr);
    let (server_end, peer) = listener.accept().expect("accept");
    server_end.set_nonblocking(true).expect("nonblocking");
    let armed = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = srv.shared().clone();
    let switch = armed.clone();
    srv.spawn(async move {
        let inner = TcpStream::from_std(server_end).expect("tokio stream");
        let _ = inner.set_nodelay(true);
        let sock = FakeSocket {
            inner,
            mode,
            armed: switch,
            stalled: false,
        };
        let _ = tx.send(shared.accept_stream(sock, peer));
    });
    let cid = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("server accepted the stream");
    (conn, cid, armed)
}
