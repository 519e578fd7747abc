//! Byte-level parser of the NATS protocol as a connection receives it: a state machine that
//! consumes a caller-owned `BytesMut` from the front, one operation per call, with payloads
//! split off zero-copy. No I/O, no clock.
//!
//! nats-server's `parser.go` and the argument readers in `client.go`, `route.go` and
//! `leafnode.go` are the behavioural reference, including their quirks (a `PING` line ends
//! at the first `\n` whatever precedes it; a control line's last byte is dropped when a `\r`
//! appeared in it; a bare `\n` ends a control line). Where nats-server's result depends on
//! how the input happened to be split into reads, this parser behaves as nats-server does
//! on the unsplit input, so its result never depends on the split.

mod args;
mod error;
mod state;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use args::{
    parse_hpub_args, parse_msg_args, parse_pub_args, parse_size, parse_sub_args, parse_unsub_args,
    Field, MsgArgs, MsgForm, PubArgs, SubArgs, UnsubArgs,
};
pub use error::{
    go_quote_into, proto_snippet, OversizedHpub, ProtocolError, ProtocolErrorKind,
    MAX_CONTROL_LINE_SNIPPET_SIZE, PROTO_SNIPPET_SIZE,
};
pub use state::{ConnKind, ParseState};

use super::{ClientOp, PubMsg};
use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

/// nats-server's default `max_control_line`.
pub const MAX_CONTROL_LINE_SIZE: usize = 4096;
/// nats-server's default `max_payload`.
pub const MAX_PAYLOAD_SIZE: usize = 1024 * 1024;
/// Routes, gateways and leafnodes may send control lines this many times longer than
/// `max_control_line`: their lines carry accounts, origins and queue lists.
const NON_CLIENT_CONTROL_LINE_FACTOR: usize = 16;

/// Limits and negotiated features the parser enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserConfig {
    /// Longest control line accepted (16 times this for non-client connections).
    pub max_control_line: usize,
    /// Largest message accepted, checked against the announced size before any payload is
    /// buffered. `usize::MAX` means no limit.
    pub max_payload: usize,
    /// Whether `HPUB` is accepted (the client sent CONNECT with `"headers":true`).
    pub headers: bool,
}

impl Default for ParserConfig {
    fn default() -> Self {
        ParserConfig {
            max_control_line: MAX_CONTROL_LINE_SIZE,
            max_payload: MAX_PAYLOAD_SIZE,
            headers: false,
        }
    }
}

/// Which interest operation a route, gateway or leafnode sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterestProto {
    /// `SUB` / `UNSUB`. nats-server ignores a plain `SUB` from a route, reads a gateway's
    /// as `RS+` and a leafnode's as `LS+`.
    Plain,
    /// `RS+` / `RS-`.
    Route,
    /// `LS+` / `LS-`.
    Leaf,
}

impl InterestProto {
    fn from_op(op: u8) -> Self {
        match op {
            b'R' | b'r' => InterestProto::Route,
            b'L' | b'l' => InterestProto::Leaf,
            _ => InterestProto::Plain,
        }
    }
}

/// A message received from a route, gateway or leafnode (`RMSG`, `LMSG`, `HMSG`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedMsg {
    /// Origin cluster (`LMSG` from a route).
    pub origin: Option<Bytes>,
    /// Account (routes and gateways; for a pinned-account route, that account).
    pub account: Option<Bytes>,
    pub subject: Bytes,
    pub reply: Option<Bytes>,
    /// Queue groups the message is for.
    pub queues: Vec<Bytes>,
    /// `Some(n)`: the first `n` bytes of `payload` are the header block.
    pub header_len: Option<usize>,
    /// Headers and body, without the trailing CRLF.
    pub payload: Bytes,
}

/// One operation from any kind of connection. Client connections only produce `Client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOp {
    Client(ClientOp),
    /// `RMSG` / `LMSG` / `HMSG` from a route, gateway or leafnode.
    Msg(RoutedMsg),
    /// `SUB`, `RS+`, `LS+` from a route, gateway or leafnode: the raw argument line, read
    /// by the cluster layer.
    Sub {
        proto: InterestProto,
        arg: Bytes,
    },
    /// `UNSUB`, `RS-`, `LS-` from a route, gateway or leafnode: the raw argument line.
    Unsub {
        proto: InterestProto,
        arg: Bytes,
    },
    /// `A+ <account>` (gateways).
    AccountSub(Bytes),
    /// `A- <account>` (gateways).
    AccountUnsub(Bytes),
}

/// The parsed control line of a message whose payload has not fully arrived yet.
#[derive(Debug, Clone)]
pub struct PendingMsg {
    line: Bytes,
    args: PendingArgs,
}

#[derive(Debug, Clone)]
enum PendingArgs {
    Pub(PubArgs),
    Msg(MsgArgs),
    /// `HMSG` from a client: nats-server reads no arguments and expects an empty message.
    Bare,
}

impl PendingMsg {
    pub fn subject(&self) -> &[u8] {
        match &self.args {
            PendingArgs::Pub(a) => &self.line[a.subject.clone()],
            PendingArgs::Msg(a) => self.field(&a.subject),
            PendingArgs::Bare => b"",
        }
    }

    pub fn reply(&self) -> Option<&[u8]> {
        match &self.args {
            PendingArgs::Pub(a) => a.reply.clone().map(|r| &self.line[r]),
            PendingArgs::Msg(a) => a.reply.clone().map(|r| &self.line[r]),
            PendingArgs::Bare => None,
        }
    }

    /// Announced total size (headers plus body).
    pub fn size(&self) -> usize {
        match &self.args {
            PendingArgs::Pub(a) => a.size,
            PendingArgs::Msg(a) => a.size,
            PendingArgs::Bare => 0,
        }
    }

    pub fn header_len(&self) -> Option<usize> {
        match &self.args {
            PendingArgs::Pub(a) => a.header_len,
            PendingArgs::Msg(a) => a.header_len,
            PendingArgs::Bare => Some(0),
        }
    }

    /// The size field as sent (`PUB`/`HPUB`).
    pub fn size_text(&self) -> Option<&[u8]> {
        match &self.args {
            PendingArgs::Pub(a) => Some(&self.line[a.size_text.clone()]),
            _ => None,
        }
    }

    /// The header size field as sent (`HPUB`).
    pub fn header_text(&self) -> Option<&[u8]> {
        match &self.args {
            PendingArgs::Pub(a) => a.header_text.clone().map(|r| &self.line[r]),
            _ => None,
        }
    }

    /// Account of a routed message (empty for a pinned-account route: the route knows it).
    pub fn account(&self) -> Option<&[u8]> {
        match &self.args {
            PendingArgs::Msg(a) => a.account.as_ref().map(|f| self.field(f)),
            _ => None,
        }
    }

    pub fn origin(&self) -> Option<&[u8]> {
        match &self.args {
            PendingArgs::Msg(a) => a.origin.clone().map(|r| &self.line[r]),
            _ => None,
        }
    }

    pub fn queues(&self) -> Vec<&[u8]> {
        match &self.args {
            PendingArgs::Msg(a) => a.queues.iter().map(|r| &self.line[r.clone()]).collect(),
            _ => Vec::new(),
        }
    }

    fn field(&self, f: &Field) -> &[u8] {
        match f {
            Field::Line(r) => &self.line[r.clone()],
            Field::PinnedAccount => b"",
        }
    }
}

/// The protocol parser of one connection.
///
/// Feed it the connection's read buffer: [`Parser::parse`] consumes one complete operation
/// from the front of the buffer per call, or returns `Ok(None)` after consuming what it can
/// when the buffer ends inside an operation. Append the next read to the same buffer and
/// call again; bytes already examined are not examined again, and a message whose payload
/// is still arriving is only checked for length.
#[derive(Debug, Clone)]
pub struct Parser {
    kind: ConnKind,
    cfg: ParserConfig,
    pinned_account: Option<Bytes>,
    awaiting_connect: bool,
    state: ParseState,
    /// First byte of the current operation (tells `RS+` from `LS+` from `SUB`).
    op: u8,
    /// In an `*Arg` state: how many bytes at the front of the buffer were searched for `\n`.
    scanned: usize,
    /// In an `*Arg` state: a `\r` was seen after the first argument byte, so the byte before
    /// `\n` is dropped (nats-server's `drop`).
    cr_seen: bool,
    pending: Option<PendingMsg>,
}

impl Parser {
    /// A parser for a client connection.
    pub fn new(cfg: ParserConfig) -> Self {
        Self::with_kind(ConnKind::Client, cfg)
    }

    /// A parser for a connection of the given kind.
    pub fn with_kind(kind: ConnKind, cfg: ParserConfig) -> Self {
        Parser {
            kind,
            cfg,
            pinned_account: None,
            awaiting_connect: false,
            state: ParseState::OpStart,
            op: 0,
            scanned: 0,
            cr_seen: false,
            pending: None,
        }
    }

    pub fn set_max_payload(&mut self, n: usize) {
        self.cfg.max_payload = n;
    }

    pub fn set_max_control_line(&mut self, n: usize) {
        self.cfg.max_control_line = n;
    }

    /// Accept `HPUB` (after CONNECT with `"headers":true`).
    pub fn set_headers(&mut self, on: bool) {
        self.cfg.headers = on;
    }

    /// For a route dedicated to one account: its message lines omit the account.
    pub fn set_pinned_account(&mut self, account: Option<Bytes>) {
        self.pinned_account = account.filter(|a| !a.is_empty());
    }

    /// While set, an operation that does not start with `C` fails with
    /// [`ProtocolErrorKind::AuthRequired`] before anything of it is consumed, as nats-server
    /// does for a connection that must authenticate first. The connection layer may then
    /// authenticate otherwise (`no_auth_user`), clear this flag and parse again.
    pub fn set_awaiting_connect(&mut self, on: bool) {
        self.awaiting_connect = on;
    }

    pub fn config(&self) -> &ParserConfig {
        &self.cfg
    }

    pub fn kind(&self) -> ConnKind {
        self.kind
    }

    /// Where the parser stands, in nats-server's terms.
    pub fn state(&self) -> ParseState {
        self.state
    }

    /// In an `*Arg` state: whether a `\r` was seen in the pending control line, so its last
    /// byte will be dropped (nats-server's `drop`).
    pub fn arg_cr_seen(&self) -> bool {
        self.cr_seen
    }

    /// The message whose control line was read and whose payload is still arriving.
    pub fn pending_msg(&self) -> Option<&PendingMsg> {
        self.pending.as_ref()
    }

    /// How many more bytes the buffer needs before the pending message is complete, given
    /// that it holds `buffered` bytes now; `None` outside a payload. Lets the read loop
    /// reserve room for a large payload in one go.
    pub fn payload_bytes_needed(&self, buffered: usize) -> Option<usize> {
        let p = self.pending.as_ref()?;
        Some((p.size() + 2).saturating_sub(buffered))
    }

    /// Parses the next complete client operation at the front of `buf`, consuming exactly
    /// its bytes. `Ok(None)`: `buf` ends inside an operation; append more and call again.
    ///
    /// For client connections; other kinds use [`Parser::parse_server_op`].
    #[inline]
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ProtocolError> {
        if self.state == ParseState::OpStart && !self.awaiting_connect {
            if let Some(op) = self.whole_pub(buf) {
                return Ok(Some(op));
            }
        }
        match self.parse_server_op(buf)? {
            None => Ok(None),
            Some(ServerOp::Client(op)) => Ok(Some(op)),
            // Only route, gateway and leafnode parsers produce these.
            Some(_) => Err(ProtocolError::unknown_operation(
                self.kind, self.state, 0, buf,
            )),
        }
    }

    /// Parses the next complete operation of any connection kind.
    pub fn parse_server_op(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<ServerOp>, ProtocolError> {
        use ParseState::*;
        loop {
            match self.state {
                OpStart => {
                    let Some(&b) = buf.first() else {
                        return Ok(None);
                    };
                    if self.awaiting_connect && b != b'C' && b != b'c' {
                        return Err(ProtocolError::auth_required());
                    }
                    self.op = b;
                    // Fast path for the hot operation: a whole `PUB ` at once.
                    if b | 0x20 == b'p'
                        && buf.len() >= 4
                        && buf[1] | 0x20 == b'u'
                        && buf[2] | 0x20 == b'b'
                        && (buf[3] == b' ' || buf[3] == b'\t')
                    {
                        buf.advance(4);
                        self.state = OpPubSpc;
                        continue;
                    }
                    let next = match b.to_ascii_uppercase() {
                        b'P' => OpP,
                        b'H' => OpH,
                        b'S' => OpS,
                        b'U' => OpU,
                        b'C' => OpC,
                        b'I' => OpI,
                        b'+' => OpPlus,
                        b'-' => OpMinus,
                        b'R' if self.kind != ConnKind::Client => OpR,
                        b'A' if self.kind != ConnKind::Client => OpA,
                        b'L' if matches!(self.kind, ConnKind::Leaf | ConnKind::Router) => OpL,
                        _ => return Err(self.unknown(buf, 0)),
                    };
                    buf.advance(1);
                    self.state = next;
                }
                OpPubSpc | OpHpubSpc | OpHmsgSpc | OpSubSpc | OpUnsubSpc | OpAsubSpc
                | OpAusubSpc | OpMsgSpc | OpMinusErrSpc | OpConnect | OpInfo => {
                    let blanks = buf.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
                    buf.advance(blanks);
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    // The first non-blank byte always belongs to the arguments, even a CR
                    // or LF; the search for the line end starts after it.
                    self.state = arg_state_after(self.state);
                    self.scanned = 1;
                    self.cr_seen = false;
                }
                MinusErrArg | ConnectArg | HpubArg | HmsgArg | PubArg | SubArg | AsubArg
                | AusubArg | UnsubArg | MsgArg | InfoArg => {
                    let Some((nl, arg_len)) = self.find_line_end(buf)? else {
                        return Ok(None);
                    };
                    return self.finish_line(buf, nl, arg_len);
                }
                OpPing | OpPong | OpPlusOk => {
                    // Everything up to the next LF belongs to this operation.
                    let Some(p) = memchr(b'\n', buf) else {
                        buf.clear();
                        return Ok(None);
                    };
                    buf.advance(p + 1);
                    let op = match self.state {
                        OpPing => ClientOp::Ping,
                        OpPong => ClientOp::Pong,
                        _ => ClientOp::Ok,
                    };
                    self.state = OpStart;
                    return Ok(Some(ServerOp::Client(op)));
                }
                MsgPayload | MsgEndR | MsgEndN => return self.take_payload(buf),
                name_state => {
                    let Some(&b) = buf.first() else {
                        return Ok(None);
                    };
                    let Some(next) = step_name(name_state, b) else {
                        return Err(self.unknown(buf, 0));
                    };
                    buf.advance(1);
                    self.state = next;
                }
            }
        }
    }

    /// The hot path: a well-formed `PUB subject [reply] size\r\n<payload>\r\n` wholly at the
    /// front of `buf`, taken in one pass. Anything else (other ops, partial input, odd line
    /// ends, errors) returns `None` with nothing consumed, for the state machine to handle.
    #[inline]
    fn whole_pub(&mut self, buf: &mut BytesMut) -> Option<ClientOp> {
        let b = &buf[..];
        if b.len() < 6
            || b[0] | 0x20 != b'p'
            || b[1] | 0x20 != b'u'
            || b[2] | 0x20 != b'b'
            || b[3] != b' '
            || b[4] <= b' '
        {
            return None;
        }
        let nl = 5 + memchr(b'\n', &b[5..])?;
        // With the CR right before the LF, the arguments are everything in between whatever
        // other CRs they hold (only the last byte is ever dropped).
        if b[nl - 1] != b'\r' || nl - 1 == 4 {
            return None;
        }
        let arg = &b[4..nl - 1];
        if arg.len() > self.cfg.max_control_line {
            return None;
        }
        let args = parse_pub_args(arg, self.cfg.max_payload).ok()?;
        let body = nl + 1;
        let end = body + args.size;
        if b.len() < end + 2 || b[end] != b'\r' || b[end + 1] != b'\n' {
            return None;
        }
        // One split for the whole message; the payload is that same handle narrowed, so
        // only the subject (and reply) cost a reference count each.
        let mut payload = buf.split_to(end + 2).freeze();
        let subject = payload.slice(4 + args.subject.start..4 + args.subject.end);
        let reply = args.reply.map(|r| payload.slice(4 + r.start..4 + r.end));
        payload.truncate(end);
        payload.advance(body);
        Some(ClientOp::Pub(PubMsg {
            subject,
            reply,
            header_len: None,
            payload,
        }))
    }

    /// Keeps, with a max payload error, the subject, size and arrived header bytes of the
    /// refused HPUB (message tracing reports it).
    fn oversized_hpub(
        &self,
        e: ProtocolError,
        buf: &BytesMut,
        nl: usize,
        arg_len: usize,
    ) -> ProtocolError {
        let Ok(args) = parse_hpub_args(&buf[..arg_len], usize::MAX) else {
            return e;
        };
        let rest = &buf[nl + 1..];
        let hdr_len = args.header_len.unwrap_or(0).min(rest.len());
        e.with_oversized_hpub(OversizedHpub {
            subject: Bytes::copy_from_slice(&buf[args.subject]),
            size: args.size,
            header: Bytes::copy_from_slice(&rest[..hdr_len]),
        })
    }

    fn unknown(&self, buf: &[u8], at: usize) -> ProtocolError {
        ProtocolError::unknown_operation(self.kind, self.state, at, buf)
    }

    fn control_line_limit(&self) -> usize {
        match self.kind {
            ConnKind::Client => self.cfg.max_control_line,
            _ => self
                .cfg
                .max_control_line
                .saturating_mul(NON_CLIENT_CONTROL_LINE_FACTOR),
        }
    }

    /// Looks for the end of the control line at the front of `buf`. Returns the index of
    /// its `\n` and the length of its arguments, or `None` when it has not arrived yet (after
    /// checking that what has arrived is not already too long).
    #[inline]
    fn find_line_end(&mut self, buf: &BytesMut) -> Result<Option<(usize, usize)>, ProtocolError> {
        let from = self.scanned.min(buf.len());
        match memchr(b'\n', &buf[from..]) {
            Some(p) => {
                let nl = from + p;
                if !self.cr_seen {
                    self.cr_seen = (nl >= 2 && buf[nl - 1] == b'\r')
                        || memchr(b'\r', &buf[from..nl]).is_some();
                }
                let arg_len = nl - usize::from(self.cr_seen);
                if arg_len > self.control_line_limit() {
                    return Err(ProtocolError::max_control_line());
                }
                Ok(Some((nl, arg_len)))
            }
            None => {
                if !self.cr_seen {
                    self.cr_seen = memchr(b'\r', &buf[from..]).is_some();
                }
                self.scanned = buf.len();
                // What has arrived, less the byte a CR will make us drop, is a lower bound
                // of the final argument length: failing now fails no line that would pass.
                if buf.len() - usize::from(self.cr_seen) > self.control_line_limit() {
                    return Err(ProtocolError::max_control_line());
                }
                Ok(None)
            }
        }
    }

    /// Handles a complete control line: `buf[..arg_len]` are the arguments and `buf[nl]` is
    /// its `\n`.
    fn finish_line(
        &mut self,
        buf: &mut BytesMut,
        nl: usize,
        arg_len: usize,
    ) -> Result<Option<ServerOp>, ProtocolError> {
        use ParseState::*;
        let state = self.state;
        self.scanned = 0;
        match state {
            PubArg => {
                let args = parse_pub_args(&buf[..arg_len], self.cfg.max_payload)?;
                self.start_pub_payload(buf, nl, args)
            }
            HpubArg => {
                if !self.cfg.headers {
                    return Err(ProtocolError::headers_not_supported());
                }
                let args = match parse_hpub_args(&buf[..arg_len], self.cfg.max_payload) {
                    Ok(a) => a,
                    Err(e) if e.kind() == ProtocolErrorKind::MaxPayload => {
                        return Err(self.oversized_hpub(e, buf, nl, arg_len))
                    }
                    Err(e) => return Err(e),
                };
                self.start_pub_payload(buf, nl, args)
            }
            HmsgArg | MsgArg => {
                let form = match (self.kind, state) {
                    (ConnKind::Client, _) => None,
                    (ConnKind::Leaf, HmsgArg) => Some(MsgForm::LeafHeader),
                    (ConnKind::Leaf, _) => Some(MsgForm::Leaf),
                    (_, HmsgArg) => Some(MsgForm::RoutedHeader),
                    (ConnKind::Router, _) if matches!(self.op, b'L' | b'l') => {
                        Some(MsgForm::RoutedOrigin)
                    }
                    _ => Some(MsgForm::Routed),
                };
                let args = match form {
                    Some(form) => {
                        let pinned = match self.kind {
                            ConnKind::Router => self.pinned_account.as_deref(),
                            _ => None,
                        };
                        PendingArgs::Msg(parse_msg_args(
                            form,
                            &buf[..arg_len],
                            pinned,
                            self.cfg.max_payload,
                        )?)
                    }
                    None => PendingArgs::Bare,
                };
                let line = buf.split_to(nl + 1).freeze();
                self.pending = Some(PendingMsg { line, args });
                self.state = MsgPayload;
                self.take_payload(buf)
            }
            SubArg if self.kind == ConnKind::Client => {
                let a = parse_sub_args(&buf[..arg_len])?;
                let line = self.take_line(buf, nl);
                Ok(Some(ServerOp::Client(ClientOp::Sub {
                    subject: line.slice(a.subject),
                    queue: a.queue.map(|q| line.slice(q)),
                    sid: line.slice(a.sid),
                })))
            }
            UnsubArg if self.kind == ConnKind::Client => {
                let a = parse_unsub_args(&buf[..arg_len])?;
                let line = self.take_line(buf, nl);
                Ok(Some(ServerOp::Client(ClientOp::Unsub {
                    sid: line.slice(a.sid),
                    max: a.max,
                })))
            }
            _ => {
                let proto = InterestProto::from_op(self.op);
                let line = self.take_line(buf, nl);
                let arg = line.slice(..arg_len);
                Ok(Some(match state {
                    SubArg => ServerOp::Sub { proto, arg },
                    UnsubArg => ServerOp::Unsub { proto, arg },
                    AsubArg => ServerOp::AccountSub(arg),
                    AusubArg => ServerOp::AccountUnsub(arg),
                    ConnectArg => ServerOp::Client(ClientOp::Connect(arg)),
                    InfoArg => ServerOp::Client(ClientOp::Info(arg)),
                    _ => ServerOp::Client(ClientOp::Err(arg)),
                }))
            }
        }
    }

    /// Splits the control line (through its `\n`) off `buf` and returns to `OpStart`.
    fn take_line(&mut self, buf: &mut BytesMut, nl: usize) -> Bytes {
        self.state = ParseState::OpStart;
        buf.split_to(nl + 1).freeze()
    }

    /// After a `PUB`/`HPUB` line: returns the message at once when its payload is in `buf`
    /// (splitting the subject and reply off the buffer without keeping the line), or
    /// remembers the line and waits for the payload.
    #[inline]
    fn start_pub_payload(
        &mut self,
        buf: &mut BytesMut,
        nl: usize,
        args: PubArgs,
    ) -> Result<Option<ServerOp>, ProtocolError> {
        let body = nl + 1;
        let end = body + args.size;
        if buf.len() < end + 2 {
            let line = buf.split_to(body).freeze();
            self.pending = Some(PendingMsg {
                line,
                args: PendingArgs::Pub(args),
            });
            self.state = ParseState::MsgPayload;
            return self.take_payload(buf);
        }
        if buf[end] != b'\r' {
            self.state = ParseState::MsgEndR;
            return Err(self.unknown(buf, end));
        }
        if buf[end + 1] != b'\n' {
            self.state = ParseState::MsgEndN;
            return Err(self.unknown(buf, end + 1));
        }
        buf.advance(args.subject.start);
        let subject = buf.split_to(args.subject.len()).freeze();
        let mut at = args.subject.end;
        let reply = args.reply.map(|r| {
            buf.advance(r.start - at);
            at = r.end;
            buf.split_to(r.len()).freeze()
        });
        buf.advance(body - at);
        let payload = buf.split_to(args.size).freeze();
        buf.advance(2);
        self.state = ParseState::OpStart;
        Ok(Some(ServerOp::Client(ClientOp::Pub(PubMsg {
            subject,
            reply,
            header_len: args.header_len,
            payload,
        }))))
    }

    /// In a payload state: returns the pending message once its payload and CRLF are in
    /// `buf`, failing as soon as a byte where the CRLF belongs is anything else.
    fn take_payload(&mut self, buf: &mut BytesMut) -> Result<Option<ServerOp>, ProtocolError> {
        let size = self.pending.as_ref().map_or(0, PendingMsg::size);
        let have = buf.len();
        if have > size && buf[size] != b'\r' {
            self.state = ParseState::MsgEndR;
            return Err(self.unknown(buf, size));
        }
        if have > size + 1 && buf[size + 1] != b'\n' {
            self.state = ParseState::MsgEndN;
            return Err(self.unknown(buf, size + 1));
        }
        if have < size + 2 {
            self.state = if have < size {
                ParseState::MsgPayload
            } else if have == size {
                ParseState::MsgEndR
            } else {
                ParseState::MsgEndN
            };
            return Ok(None);
        }
        let payload = buf.split_to(size).freeze();
        buf.advance(2);
        self.state = ParseState::OpStart;
        let Some(PendingMsg { line, args }) = self.pending.take() else {
            return Ok(None);
        };
        Ok(Some(match args {
            PendingArgs::Pub(a) => ServerOp::Client(ClientOp::Pub(PubMsg {
                subject: line.slice(a.subject),
                reply: a.reply.map(|r| line.slice(r)),
                header_len: a.header_len,
                payload,
            })),
            PendingArgs::Bare => ServerOp::Client(ClientOp::Pub(PubMsg {
                subject: Bytes::new(),
                reply: None,
                header_len: Some(0),
                payload,
            })),
            PendingArgs::Msg(a) => {
                let field = |f: Field| match f {
                    Field::Line(r) => line.slice(r),
                    Field::PinnedAccount => self.pinned_account.clone().unwrap_or_default(),
                };
                ServerOp::Msg(RoutedMsg {
                    origin: a.origin.map(|r| line.slice(r)),
                    account: a.account.map(field),
                    subject: field(a.subject),
                    reply: a.reply.map(|r| line.slice(r)),
                    queues: a.queues.into_iter().map(|r| line.slice(r)).collect(),
                    header_len: a.header_len,
                    payload,
                })
            }
        }))
    }
}

/// The argument state a blank-skipping state leads to.
fn arg_state_after(spc: ParseState) -> ParseState {
    use ParseState::*;
    match spc {
        OpPubSpc => PubArg,
        OpHpubSpc => HpubArg,
        OpHmsgSpc => HmsgArg,
        OpSubSpc => SubArg,
        OpUnsubSpc => UnsubArg,
        OpAsubSpc => AsubArg,
        OpAusubSpc => AusubArg,
        OpMsgSpc => MsgArg,
        OpMinusErrSpc => MinusErrArg,
        OpConnect => ConnectArg,
        _ => InfoArg,
    }
}

/// One step through an operation name: the state after byte `b`, or `None` when `b` cannot
/// come next. Letters match in either case.
fn step_name(state: ParseState, b: u8) -> Option<ParseState> {
    use ParseState::*;
    let blank = b == b' ' || b == b'\t';
    Some(match (state, b.to_ascii_uppercase()) {
        (OpPlus, b'O') => OpPlusO,
        (OpPlusO, b'K') => OpPlusOk,
        (OpMinus, b'E') => OpMinusE,
        (OpMinusE, b'R') => OpMinusEr,
        (OpMinusEr, b'R') => OpMinusErr,
        (OpMinusErr, _) if blank => OpMinusErrSpc,
        (OpC, b'O') => OpCo,
        (OpCo, b'N') => OpCon,
        (OpCon, b'N') => OpConn,
        (OpConn, b'E') => OpConne,
        (OpConne, b'C') => OpConnec,
        (OpConnec, b'T') => OpConnect,
        (OpH, b'P') => OpHp,
        (OpH, b'M') => OpHm,
        (OpHp, b'U') => OpHpu,
        (OpHpu, b'B') => OpHpub,
        (OpHpub, _) if blank => OpHpubSpc,
        (OpHm, b'S') => OpHms,
        (OpHms, b'G') => OpHmsg,
        (OpHmsg, _) if blank => OpHmsgSpc,
        (OpP, b'U') => OpPu,
        (OpP, b'I') => OpPi,
        (OpP, b'O') => OpPo,
        (OpPu, b'B') => OpPub,
        (OpPub, _) if blank => OpPubSpc,
        (OpPi, b'N') => OpPin,
        (OpPin, b'G') => OpPing,
        (OpPo, b'N') => OpPon,
        (OpPon, b'G') => OpPong,
        (OpS, b'U') => OpSu,
        (OpSu, b'B') => OpSub,
        (OpSub, _) if blank => OpSubSpc,
        (OpA, b'+') => OpAsub,
        // nats-server takes `A-` and, lowercase only, `Au` for account unsubscribe.
        (OpA, _) if b == b'-' || b == b'u' => OpAusub,
        (OpAsub, _) if blank => OpAsubSpc,
        (OpAusub, _) if blank => OpAusubSpc,
        (OpL, b'S') => OpLs,
        (OpL, b'M') => OpM,
        (OpLs, b'+') => OpSub,
        (OpLs, b'-') => OpUnsub,
        (OpR, b'S') => OpRs,
        (OpR, b'M') => OpM,
        (OpRs, b'+') => OpSub,
        (OpRs, b'-') => OpUnsub,
        (OpU, b'N') => OpUn,
        (OpUn, b'S') => OpUns,
        (OpUns, b'U') => OpUnsu,
        (OpUnsu, b'B') => OpUnsub,
        (OpUnsub, _) if blank => OpUnsubSpc,
        (OpM, b'S') => OpMs,
        (OpMs, b'G') => OpMsg,
        (OpMsg, _) if blank => OpMsgSpc,
        (OpI, b'N') => OpIn,
        (OpIn, b'F') => OpInf,
        (OpInf, b'O') => OpInfo,
        _ => return None,
    })
}
