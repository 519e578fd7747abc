//! Flow control of push consumers (Go's `maxpb`/`pbytes`/`fcid`): the bytes delivered
//! and not yet confirmed by the client, the window they may reach, and the one
//! outstanding flow control request (`NATS/1.0 100 FlowControl Request` with a
//! `$JS.FC.<stream>.<consumer>.<id>` reply) whose answer releases them.
//!
//! The window starts small and doubles with every answer up to its limit (slow start).
//! Deliveries stop while more bytes are out than the window; a request goes out once half
//! the window is used. Pure: the consumer publishes the requests this asks for.

/// Go's default limit of a flow-controlled consumer's pending bytes (32 MiB).
pub const DEFAULT_MAX_PENDING_BYTES: i64 = 32 * 1024 * 1024;

/// The status header of a flow control request.
pub const FLOW_CONTROL_REQUEST: &str = "NATS/1.0 100 FlowControl Request\r\n\r\n";

/// The header an idle heartbeat carries while the consumer waits for a flow control
/// answer: the reply subject of that request.
pub const CONSUMER_STALLED_HDR: &str = "Nats-Consumer-Stalled";

/// The flow control state of a push consumer; `window == 0` means off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowControl {
    /// The largest window (Go's `pblimit`).
    limit: i64,
    /// The current window (Go's `maxpb`).
    window: i64,
    /// Bytes delivered and not released by an answer (Go's `pbytes`).
    pending_bytes: i64,
    /// The reply subject of the request waiting for its answer (Go's `fcid`).
    outstanding: Option<String>,
    /// The bytes that answer releases (Go's `fcsz`).
    outstanding_bytes: i64,
}

impl FlowControl {
    /// Flow control with at most `limit` bytes out; the window starts at a sixteenth
    /// of it (Go's `setMaxPendingBytes`).
    pub fn with_limit(limit: i64) -> FlowControl {
        FlowControl {
            limit,
            window: (limit / 16).max(1),
            ..FlowControl::default()
        }
    }

    pub fn is_on(&self) -> bool {
        self.window > 0
    }

    /// Sets a new limit, keeping what is out (used to tune a running consumer).
    pub fn set_limit(&mut self, limit: i64) {
        self.limit = limit;
        self.window = (limit / 16).max(1);
    }

    /// More bytes are out than the window allows: deliveries wait for an answer.
    pub fn stalled(&self) -> bool {
        self.is_on() && self.pending_bytes > self.window
    }

    /// The reply subject of the request still unanswered.
    pub fn outstanding(&self) -> Option<&str> {
        self.outstanding.as_deref()
    }

    pub fn pending_bytes(&self) -> i64 {
        self.pending_bytes
    }

    pub fn window(&self) -> i64 {
        self.window
    }

    /// A message of `size` bytes went out. Whether a flow control request must follow
    /// (Go's `needFlowControl`): half the window is used, or (ack by flow control) the
    /// consumer holds `max_ack_pending` messages. With a request out, bytes past a full
    /// window are added to what its answer releases.
    pub fn delivered(&mut self, size: i64, ack_pending_full: bool) -> bool {
        if !self.is_on() {
            return false;
        }
        self.pending_bytes = self.pending_bytes.saturating_add(size);
        if self.outstanding.is_none() {
            return self.pending_bytes > self.window / 2 || ack_pending_full;
        }
        if self.pending_bytes - self.outstanding_bytes >= self.window {
            self.outstanding_bytes = self.outstanding_bytes.saturating_add(size);
        }
        false
    }

    /// A request went out with `reply`: its answer releases what is out now.
    pub fn request_sent(&mut self, reply: String) {
        self.outstanding_bytes = self.pending_bytes;
        self.outstanding = Some(reply);
    }

    /// An answer arrived on `subject`. Only the latest request counts: the window
    /// doubles (up to the limit) and its bytes are released. Whether it was that one.
    pub fn answered(&mut self, subject: &str) -> bool {
        if self.outstanding.as_deref() != Some(subject) {
            return false;
        }
        if self.window < self.limit {
            self.window = self.window.saturating_mul(2).min(self.limit);
        }
        self.pending_bytes = (self.pending_bytes - self.outstanding_bytes).max(0);
        self.outstanding = None;
        self.outstanding_bytes = 0;
        true
    }
}

/// An idle heartbeat `header` (ending in an empty line) that also tells the client the
/// consumer waits for the answer on `reply` (Go's stalled heartbeat).
pub fn stalled_heartbeat(header: &str, reply: &str) -> String {
    let head = header.strip_suffix("\r\n").unwrap_or(header);
    format!("{head}{CONSUMER_STALLED_HDR}: {reply}\r\n\r\n")
}

/// The last token of a flow control reply: four characters of `0-9A-Za-z` from a random
/// number (Go's `fcReply`).
pub fn reply_token(mut random: u64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(4);
    for _ in 0..4 {
        out.push(char::from(DIGITS[(random % DIGITS.len() as u64) as usize]));
        random /= DIGITS.len() as u64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default() {
        let mut f = FlowControl::default();
        assert!(!f.is_on());
        assert!(!f.delivered(1 << 30, true));
        assert!(!f.stalled());
    }

    #[test]
    fn a_request_goes_out_past_half_the_window_and_deliveries_stop_past_it() {
        // Go's test limit of 16 KiB: a window of 1 KiB.
        let mut f = FlowControl::with_limit(16 * 1024);
        assert_eq!(f.window(), 1024);
        assert!(!f.delivered(400, false));
        assert!(f.delivered(200, false), "600 bytes is past half of 1024");
        f.request_sent("$JS.FC.S.C.abcd".into());
        assert!(!f.stalled());
        assert!(!f.delivered(500, false), "one request at a time");
        assert!(f.stalled(), "1100 bytes out of a 1024 window");
        // An answer to an older request changes nothing.
        assert!(!f.answered("$JS.FC.S.C.zzzz"));
        assert!(f.stalled());
        assert!(f.answered("$JS.FC.S.C.abcd"));
        // The 600 bytes the request covered are released; the window doubled.
        assert_eq!((f.pending_bytes(), f.window()), (500, 2048));
        assert!(!f.stalled());
        assert_eq!(f.outstanding(), None);
    }

    #[test]
    fn the_window_grows_up_to_the_limit() {
        let mut f = FlowControl::with_limit(64);
        assert_eq!(f.window(), 4);
        for _ in 0..10 {
            let full = f.window();
            assert!(f.delivered(full, false));
            f.request_sent("r".into());
            assert!(f.answered("r"));
        }
        assert_eq!(f.window(), 64);
        assert_eq!(f.pending_bytes(), 0);
    }

    #[test]
    fn bytes_past_a_full_window_join_the_outstanding_request() {
        let mut f = FlowControl::with_limit(16 * 100);
        assert!(f.delivered(60, false));
        f.request_sent("r".into());
        // 160 - 60 = 100 >= window 100: these 100 bytes are released by the answer too.
        assert!(!f.delivered(100, false));
        // 210 - 160 = 50: these stay out.
        assert!(!f.delivered(50, false));
        assert!(f.answered("r"));
        assert_eq!(f.pending_bytes(), 50);
    }

    #[test]
    fn ack_by_flow_control_asks_when_max_ack_pending_is_reached() {
        let mut f = FlowControl::with_limit(DEFAULT_MAX_PENDING_BYTES);
        assert!(!f.delivered(10, false));
        assert!(f.delivered(10, true));
    }

    #[test]
    fn a_stalled_heartbeat_names_the_request() {
        let hb =
            "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1\r\nNats-Last-Stream: 2\r\n\r\n";
        assert_eq!(
            stalled_heartbeat(hb, "$JS.FC.S.C.x1y2"),
            "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 1\r\nNats-Last-Stream: 2\r\nNats-Consumer-Stalled: $JS.FC.S.C.x1y2\r\n\r\n"
        );
    }

    #[test]
    fn reply_tokens_are_four_base62_characters() {
        assert_eq!(reply_token(0), "0000");
        assert_eq!(reply_token(61), "z000");
        assert_eq!(reply_token(62), "0100");
        assert_eq!(reply_token(u64::MAX).len(), 4);
    }
}
