//! Client protocol: a sans-I/O parser for what clients send and encoders for what the
//! server sends. Nothing here touches a socket or a clock.

pub mod encode;
pub mod parser;

use bytes::Bytes;

/// One complete operation received from a client connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOp {
    /// `CONNECT <json>`: the raw JSON, parsed by the client layer.
    Connect(Bytes),
    /// `PUB` or `HPUB` with its payload.
    Pub(PubMsg),
    /// `SUB <subject> [queue] <sid>`
    Sub {
        subject: Bytes,
        queue: Option<Bytes>,
        sid: Bytes,
    },
    /// `UNSUB <sid> [max]`
    Unsub {
        sid: Bytes,
        max: Option<u64>,
    },
    Ping,
    Pong,
    /// `+OK` sent by a client (accepted and ignored, as Go does).
    Ok,
    /// `-ERR ...` sent by a client (accepted and ignored, as Go does).
    Err(Bytes),
    /// `INFO <json>` sent by a client (accepted and ignored for client connections).
    Info(Bytes),
}

/// A published message: `PUB subject [reply] size` or `HPUB subject [reply] hdr_size total_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubMsg {
    pub subject: Bytes,
    pub reply: Option<Bytes>,
    /// `Some(n)` for HPUB: the first `n` bytes of `payload` are the NATS header block.
    pub header_len: Option<usize>,
    /// Headers (if any) followed by the body, without the trailing CRLF.
    pub payload: Bytes,
}
