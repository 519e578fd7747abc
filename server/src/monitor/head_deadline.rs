//! The monitoring port's only timeout: a request head must arrive within a limit counted
//! from its first byte (Go's `ReadHeaderTimeout`). An idle keep-alive connection may wait
//! for its next request as long as it likes, and reading the request or writing the
//! response has no limit, as Go's monitoring server sets no read, write or idle timeout.
//! (hyper's own `header_read_timeout` starts counting while the connection is idle.)

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Where the connection is in its request/response cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the first byte of a request: no deadline.
    Idle,
    /// Reading a request head; `line_start` says the last byte ended a line, so a line
    /// end now is the empty line that closes the head.
    Head { line_start: bool },
    /// The head is complete; the request is being served. The next write (the response)
    /// makes the connection idle again.
    Served,
}

impl Phase {
    /// The phase after `bytes` were read, and whether a head started in them.
    fn advance(mut self, bytes: &[u8]) -> (Phase, bool) {
        let mut started = false;
        for &b in bytes {
            self = match self {
                Phase::Idle => {
                    started = true;
                    Phase::Head {
                        line_start: b == b'\n',
                    }
                }
                Phase::Head { line_start } => match b {
                    b'\n' if line_start => Phase::Served,
                    b'\n' => Phase::Head { line_start: true },
                    b'\r' => Phase::Head { line_start },
                    _ => Phase::Head { line_start: false },
                },
                Phase::Served => return (Phase::Served, started),
            };
        }
        (self, started)
    }
}

/// A stream whose reads fail with `TimedOut` once a request head has taken longer than
/// `limit` since its first byte.
pub struct HeadDeadline<S> {
    inner: S,
    limit: Duration,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
}

impl<S> HeadDeadline<S> {
    pub fn new(inner: S, limit: Duration) -> HeadDeadline<S> {
        HeadDeadline {
            inner,
            limit,
            phase: Phase::Idle,
            deadline: Box::pin(tokio::time::sleep(limit)),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for HeadDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let (phase, started) = this.phase.advance(&buf.filled()[before..]);
                if started {
                    let at = Instant::now() + this.limit;
                    this.deadline.as_mut().reset(at);
                }
                this.phase = phase;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                // Registers the timer's waker too, so an expired head wakes the reader.
                let in_head = matches!(this.phase, Phase::Head { .. });
                if in_head && this.deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request head not received in time",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.phase == Phase::Served {
            self.phase = Phase::Idle;
        }
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
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn phases_follow_the_request_head() {
        let (p, started) = Phase::Idle.advance(b"GET /varz HTTP/1.1\r\nHost: x\r\n");
        assert!(started);
        assert_eq!(p, Phase::Head { line_start: true });
        let (p, started) = p.advance(b"\r\n");
        assert!(!started);
        assert_eq!(p, Phase::Served);
        // Bare line feeds end lines too.
        assert_eq!(Phase::Idle.advance(b"GET / HTTP/1.0\n\n").0, Phase::Served);
        // A head split anywhere, even inside the closing CRLF CRLF.
        let p = Phase::Idle.advance(b"GET / HTTP/1.1\r\n\r").0;
        assert_eq!(p.advance(b"\n").0, Phase::Served);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_waits_forever_but_a_slow_head_times_out() {
        let (client, server) = tokio::io::duplex(1024);
        let mut s = HeadDeadline::new(server, Duration::from_secs(5));
        let (mut cr, mut cw) = tokio::io::split(client);
        let mut buf = [0u8; 64];

        // Idle for an hour, then a whole head: read fine.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        cw.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert_eq!(s.read(&mut buf).await.unwrap(), 18);
        // The response makes the connection idle again.
        s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        cr.read_exact(&mut buf[..19]).await.unwrap();

        // Idle again for an hour, then half a head that never ends.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        cw.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        assert_eq!(s.read(&mut buf).await.unwrap(), 16);
        let err = s.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
