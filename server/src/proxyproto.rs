//! The PROXY protocol (HAProxy's v1 text line and v2 binary header), which a load balancer
//! puts in front of a client's own bytes so the server learns the client's real address.
//!
//! Pure: [`parse`] takes the bytes received so far and says whether they hold a whole
//! header (and how many bytes it took), need more, are no PROXY header at all, or are a
//! broken one. When the connection ends or times out first, [`Pending::error`] gives the
//! error nats-server would report at that point. Reading the socket is [`conn`]'s job.
//!
//! Error texts are nats-server's, so the logged warning reads the same.

pub mod conn;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// The 12 bytes every v2 header starts with.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// How a v1 line starts.
pub const V1_PREFIX: &[u8; 6] = b"PROXY ";
/// Longest v1 line, CRLF included.
pub const V1_MAX_LINE: usize = 107;
/// Signature, version/command, family/protocol and the address length.
pub const V2_FIXED_HEADER: usize = 16;
/// How many bytes decide between v1, v2 and no PROXY header.
pub const DETECT_LEN: usize = 6;
/// How long each step of reading a header may take (nats-server's 5 seconds).
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

const V2_VERSION: u8 = 0x20;
const CMD_LOCAL: u8 = 0x00;
const CMD_PROXY: u8 = 0x01;
const FAMILY_UNSPEC: u8 = 0x00;
const FAMILY_INET: u8 = 0x10;
const FAMILY_INET6: u8 = 0x20;
const PROTO_STREAM: u8 = 0x01;
const INET_ADDR_LEN: usize = 12;
const INET6_ADDR_LEN: usize = 36;

/// The addresses a PROXY header carries: the client (`src`) and what it connected to
/// (`dst`). An IPv4-mapped IPv6 address is kept as IPv4, since that is how it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyAddr {
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

impl ProxyAddr {
    /// `tcp4` or `tcp6`, after the client's address.
    pub fn network(&self) -> &'static str {
        if self.src.is_ipv4() {
            "tcp4"
        } else {
            "tcp6"
        }
    }
}

/// The client's address as `host:port` (IPv6 in brackets).
impl fmt::Display for ProxyAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.src.fmt(f)
    }
}

/// What the bytes received so far amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    /// A header has started (or too few bytes to tell) and is not complete.
    NeedMore(Pending),
    /// The connection does not start with a PROXY header: nothing is consumed.
    NotProxy,
    /// A whole header, `consumed` bytes long. `addr` is `None` for a v2 `LOCAL` command,
    /// a v1 `UNKNOWN` line and a v2 `UNSPEC` family: the connection's own address stands.
    Parsed {
        addr: Option<ProxyAddr>,
        consumed: usize,
    },
}

/// Which read of the reference implementation is waiting, and how many of its bytes have
/// arrived: that decides the error when the connection ends or times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    step: Step,
    have: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The first 6 bytes (a full read).
    Version,
    /// The rest of a v1 line (plain reads).
    V1Line,
    /// The rest of the v2 signature (a full read).
    V2Signature,
    /// Version/command, family/protocol, length (a full read).
    V2Header,
    /// The 16 fixed bytes, when v2 is read without detection ([`parse_v2`]).
    V2Fixed,
    /// Address bytes skipped after a `LOCAL` command (a copy of n bytes).
    DiscardLocal,
    /// Address bytes skipped for the `UNSPEC` family (a copy of n bytes).
    DiscardUnspec,
    Ipv4Data,
    Ipv6Data,
}

/// How the connection stopped delivering bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The peer closed its side.
    Eof,
    /// The read deadline passed; the text is the read error as Go prints it.
    TimedOut(String),
    /// Any other read error, as Go prints it.
    Failed(String),
}

/// Classes of errors, as the reference's sentinel errors let callers tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A malformed header (`invalid PROXY protocol header`).
    Invalid,
    /// A well-formed header asking for something not supported.
    Unsupported,
    /// The fixed v2 header did not arrive in time ([`parse_v2`] only).
    Timeout,
    /// The connection ended before the first byte of a read.
    Eof,
    /// The connection ended in the middle of a read.
    UnexpectedEof,
    /// A read failed or timed out.
    Io,
    /// A bad port number or an unknown v2 command.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError {
    pub kind: ErrorKind,
    text: String,
}

impl ProxyError {
    fn new(kind: ErrorKind, text: impl Into<String>) -> Self {
        ProxyError {
            kind,
            text: text.into(),
        }
    }

    fn invalid(what: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::Invalid,
            format!("invalid PROXY protocol header: {what}"),
        )
    }

    fn unsupported(what: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::Unsupported,
            format!("unsupported PROXY protocol feature: {what}"),
        )
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for ProxyError {}

impl Pending {
    /// The error when the connection ends (or a read fails) while this is pending.
    pub fn error(&self, end: &StreamEnd) -> ProxyError {
        let context = match self.step {
            Step::Version => "failed to read protocol version",
            Step::V1Line => "failed to read v1 line",
            Step::V2Signature => "failed to read v2 signature",
            Step::V2Header => "failed to read v2 header",
            Step::V2Fixed => "failed to read PROXY protocol header",
            Step::DiscardLocal => "failed to discard LOCAL command address data",
            Step::DiscardUnspec => "failed to discard UNSPEC address address data",
            Step::Ipv4Data => "failed to read IPv4 address data",
            Step::Ipv6Data => "failed to read IPv6 address data",
        };
        let (kind, cause) = match end {
            // The fixed-header read reports a timeout as its own error.
            StreamEnd::TimedOut(_) if self.step == Step::V2Fixed => {
                return ProxyError::new(ErrorKind::Timeout, "timeout reading PROXY protocol header")
            }
            StreamEnd::TimedOut(t) | StreamEnd::Failed(t) => (ErrorKind::Io, t.as_str()),
            // A full read that got part of its bytes ends "unexpectedly"; plain reads and
            // copies report a bare EOF.
            StreamEnd::Eof if self.have > 0 && self.is_full_read() => {
                (ErrorKind::UnexpectedEof, "unexpected EOF")
            }
            StreamEnd::Eof => (ErrorKind::Eof, "EOF"),
        };
        ProxyError::new(kind, format!("{context}: {cause}"))
    }

    fn is_full_read(&self) -> bool {
        !matches!(
            self.step,
            Step::V1Line | Step::DiscardLocal | Step::DiscardUnspec
        )
    }
}

fn need(step: Step, have: usize) -> Result<Parse, ProxyError> {
    Ok(Parse::NeedMore(Pending { step, have }))
}

/// Reads a PROXY header of either version off the start of a connection, as nats-server
/// does when `proxy_protocol` is on: the first 6 bytes tell v1 from v2 from anything else.
pub fn parse(buf: &[u8]) -> Result<Parse, ProxyError> {
    let Some(first) = buf.get(..DETECT_LEN) else {
        return need(Step::Version, buf.len());
    };
    if first == V1_PREFIX {
        return parse_v1_line(buf);
    }
    if first != &V2_SIGNATURE[..DETECT_LEN] {
        return Ok(Parse::NotProxy);
    }
    if buf.len() < V2_SIGNATURE.len() {
        return need(Step::V2Signature, buf.len() - DETECT_LEN);
    }
    if buf[..V2_SIGNATURE.len()] != V2_SIGNATURE {
        return Err(ProxyError::invalid("invalid signature"));
    }
    if buf.len() < V2_FIXED_HEADER {
        return need(Step::V2Header, buf.len() - V2_SIGNATURE.len());
    }
    parse_v2_after_fixed(buf)
}

/// Reads a v2 header, without looking for v1 (the reference's `readProxyProtoV2Header`):
/// the 16 fixed bytes first, then the signature is checked.
pub fn parse_v2(buf: &[u8]) -> Result<Parse, ProxyError> {
    if buf.len() < V2_FIXED_HEADER {
        return need(Step::V2Fixed, buf.len());
    }
    if buf[..V2_SIGNATURE.len()] != V2_SIGNATURE {
        return Err(ProxyError::invalid("invalid signature"));
    }
    parse_v2_after_fixed(buf)
}

/// The v2 header once its 16 fixed bytes are in `buf` and the signature is valid.
fn parse_v2_after_fixed(buf: &[u8]) -> Result<Parse, ProxyError> {
    let version = buf[12] & 0xF0;
    let command = buf[12] & 0x0F;
    let family = buf[13] & 0xF0;
    let protocol = buf[13] & 0x0F;
    let addr_len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if version != V2_VERSION {
        return Err(ProxyError::invalid(format_args!(
            "invalid version 0x{version:02x}"
        )));
    }
    let end = V2_FIXED_HEADER + addr_len;
    let have = buf.len() - V2_FIXED_HEADER;
    // LOCAL (a health check): the address block is skipped whatever it says.
    if command == CMD_LOCAL {
        if buf.len() < end {
            return need(Step::DiscardLocal, have);
        }
        return Ok(Parse::Parsed {
            addr: None,
            consumed: end,
        });
    }
    if command != CMD_PROXY {
        return Err(ProxyError::new(
            ErrorKind::Other,
            format!("unknown PROXY protocol command: 0x{command:02x}"),
        ));
    }
    if protocol != PROTO_STREAM {
        return Err(ProxyError::unsupported("only STREAM protocol supported"));
    }
    let (step, min_len, label) = match family {
        FAMILY_INET => (Step::Ipv4Data, INET_ADDR_LEN, "IPv4"),
        FAMILY_INET6 => (Step::Ipv6Data, INET6_ADDR_LEN, "IPv6"),
        FAMILY_UNSPEC => {
            if buf.len() < end {
                return need(Step::DiscardUnspec, have);
            }
            return Ok(Parse::Parsed {
                addr: None,
                consumed: end,
            });
        }
        _ => {
            return Err(ProxyError::unsupported(format_args!(
                "unsupported address family 0x{family:02x}"
            )))
        }
    };
    if addr_len < min_len {
        return Err(ProxyError::new(
            ErrorKind::Other,
            format!("{label} address data too short: {addr_len} bytes"),
        ));
    }
    if buf.len() < end {
        return need(step, have);
    }
    // Anything past the two addresses and ports (TLVs) is read and ignored.
    let data = &buf[V2_FIXED_HEADER..end];
    let ip_len = (min_len - 4) / 2;
    let ip = |b: &[u8]| -> IpAddr {
        match <[u8; 16]>::try_from(b) {
            Ok(v6) => Ipv6Addr::from(v6).to_canonical(),
            Err(_) => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
        }
    };
    let port = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
    Ok(Parse::Parsed {
        addr: Some(ProxyAddr {
            src: SocketAddr::new(ip(&data[..ip_len]), port(2 * ip_len)),
            dst: SocketAddr::new(ip(&data[ip_len..2 * ip_len]), port(2 * ip_len + 2)),
        }),
        consumed: end,
    })
}

/// A v1 line: `PROXY TCP4|TCP6 <src> <dst> <src port> <dst port>\r\n` or
/// `PROXY UNKNOWN ...\r\n`, at most 107 bytes.
fn parse_v1_line(buf: &[u8]) -> Result<Parse, ProxyError> {
    let window = &buf[DETECT_LEN..buf.len().min(V1_MAX_LINE)];
    let Some(crlf) = window.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() >= V1_MAX_LINE {
            return Err(ProxyError::invalid("v1 line too long"));
        }
        return need(Step::V1Line, buf.len() - DETECT_LEN);
    };
    let consumed = DETECT_LEN + crlf + 2;
    let fields = go_fields(&window[..crlf]);
    let Some(&protocol) = fields.first() else {
        return Err(ProxyError::invalid("invalid v1 format"));
    };
    if protocol == b"UNKNOWN" {
        return Ok(Parse::Parsed {
            addr: None,
            consumed,
        });
    }
    let [protocol, src, dst, src_port, dst_port] = fields[..] else {
        return Err(ProxyError::invalid("invalid v1 format"));
    };
    let (Some(src_ip), Some(dst_ip)) = (parse_ip(src), parse_ip(dst)) else {
        return Err(ProxyError::invalid("invalid address"));
    };
    let src_port = parse_port(src_port)
        .map_err(|e| ProxyError::new(ErrorKind::Other, format!("invalid source port: {e}")))?;
    let dst_port = parse_port(dst_port)
        .map_err(|e| ProxyError::new(ErrorKind::Other, format!("invalid dest port: {e}")))?;
    // The text decides the family: an IPv4-mapped IPv6 address is still TCP6.
    let src_v6 = src.contains(&b':');
    let dst_v6 = dst.contains(&b':');
    if protocol == b"TCP4" && (src_v6 || dst_v6) {
        return Err(ProxyError::invalid("TCP4 with IPv6 address"));
    }
    if protocol == b"TCP6" && (!src_v6 || !dst_v6) {
        return Err(ProxyError::invalid("TCP6 with IPv4 address"));
    }
    if protocol != b"TCP4" && protocol != b"TCP6" {
        return Err(ProxyError::invalid(format_args!(
            "invalid protocol {}",
            String::from_utf8_lossy(protocol)
        )));
    }
    Ok(Parse::Parsed {
        addr: Some(ProxyAddr {
            src: SocketAddr::new(src_ip, src_port),
            dst: SocketAddr::new(dst_ip, dst_port),
        }),
        consumed,
    })
}

/// Splits on Unicode white space as Go's `strings.Fields` does; bytes that are not valid
/// UTF-8 belong to fields.
fn go_fields(line: &[u8]) -> Vec<&[u8]> {
    let mut fields = Vec::new();
    let mut start = None;
    let mut at = 0;
    for chunk in line.utf8_chunks() {
        for (i, c) in chunk.valid().char_indices() {
            match (c.is_whitespace(), start) {
                (true, Some(s)) => {
                    fields.push(&line[s..at + i]);
                    start = None;
                }
                (false, None) => start = Some(at + i),
                _ => {}
            }
        }
        at += chunk.valid().len();
        if !chunk.invalid().is_empty() && start.is_none() {
            start = Some(at);
        }
        at += chunk.invalid().len();
    }
    if let Some(s) = start {
        fields.push(&line[s..]);
    }
    fields
}

/// An IP address as Go's `net.ParseIP` reads it (no zone); IPv4-mapped IPv6 becomes IPv4.
fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    let ip: IpAddr = std::str::from_utf8(text).ok()?.parse().ok()?;
    Some(ip.to_canonical())
}

/// A decimal port, with Go's `strconv.ParseUint(s, 10, 16)` errors: the first bad digit
/// or the first overflow, whichever comes first, decides.
fn parse_port(text: &[u8]) -> Result<u16, String> {
    let fail = |why: &str| {
        let mut quoted = String::new();
        crate::protocol::parser::go_quote_into(&mut quoted, text);
        format!("strconv.ParseUint: parsing {quoted}: {why}")
    };
    if text.is_empty() {
        return Err(fail("invalid syntax"));
    }
    let mut n: u32 = 0;
    for &b in text {
        if !b.is_ascii_digit() {
            return Err(fail("invalid syntax"));
        }
        n = n * 10 + u32::from(b - b'0');
        if n > u32::from(u16::MAX) {
            return Err(fail("value out of range"));
        }
    }
    u16::try_from(n).map_err(|_| fail("value out of range"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn v2(cmd: u8, fam_proto: u8, addr: &[u8]) -> Vec<u8> {
        let mut b = V2_SIGNATURE.to_vec();
        b.push(V2_VERSION | cmd);
        b.push(fam_proto);
        b.extend_from_slice(&u16::try_from(addr.len()).unwrap().to_be_bytes());
        b.extend_from_slice(addr);
        b
    }

    fn parsed(r: Result<Parse, ProxyError>) -> (Option<ProxyAddr>, usize) {
        match r {
            Ok(Parse::Parsed { addr, consumed }) => (addr, consumed),
            other => panic!("not parsed: {other:?}"),
        }
    }

    fn err_text(r: Result<Parse, ProxyError>) -> String {
        match r {
            Err(e) => e.to_string(),
            other => panic!("no error: {other:?}"),
        }
    }

    fn pending(r: Result<Parse, ProxyError>) -> Pending {
        match r {
            Ok(Parse::NeedMore(p)) => p,
            other => panic!("not pending: {other:?}"),
        }
    }

    #[test]
    fn v1_tcp4_with_trailing_bytes() {
        let buf = b"PROXY TCP4 1.2.3.4 5.6.7.8 1000 4222\r\nCONNECT {}\r\n";
        let (addr, consumed) = parsed(parse(buf));
        let addr = addr.unwrap();
        assert_eq!(addr.to_string(), "1.2.3.4:1000");
        assert_eq!(addr.dst.to_string(), "5.6.7.8:4222");
        assert_eq!(addr.network(), "tcp4");
        assert_eq!(&buf[consumed..], b"CONNECT {}\r\n");
    }

    #[test]
    fn v1_fields_split_on_any_white_space() {
        let (addr, _) = parsed(parse(b"PROXY TCP6\t::1 \x0b::2  \xc2\xa01 2\r\n"));
        let addr = addr.unwrap();
        assert_eq!(addr.to_string(), "[::1]:1");
        assert_eq!(addr.network(), "tcp6");
        assert_eq!(
            go_fields(b" a\xffb  c \xff"),
            vec![&b"a\xffb"[..], b"c", b"\xff"]
        );
    }

    #[test]
    fn v1_errors_read_as_go() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"PROXY \r\n",
                "invalid PROXY protocol header: invalid v1 format",
            ),
            (
                b"PROXY TCP4 1.2.3.4\r\n",
                "invalid PROXY protocol header: invalid v1 format",
            ),
            (
                b"PROXY TCP4 1.2.3.04 1.2.3.4 1 2\r\n",
                "invalid PROXY protocol header: invalid address",
            ),
            (
                b"PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n",
                "invalid source port: strconv.ParseUint: parsing \"65536\": value out of range",
            ),
            (
                b"PROXY TCP4 1.2.3.4 1.2.3.4 99999x 2\r\n",
                "invalid source port: strconv.ParseUint: parsing \"99999x\": value out of range",
            ),
            (
                b"PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n",
                "invalid source port: strconv.ParseUint: parsing \"+1\": invalid syntax",
            ),
            (
                b"PROXY TCP4 1.2.3.4 1.2.3.4 1 \xff\r\n",
                "invalid dest port: strconv.ParseUint: parsing \"\\xff\": invalid syntax",
            ),
            (
                b"PROXY TCP4 ::1 1.2.3.4 1 2\r\n",
                "invalid PROXY protocol header: TCP4 with IPv6 address",
            ),
            (
                b"PROXY TCP6 ::1 1.2.3.4 1 2\r\n",
                "invalid PROXY protocol header: TCP6 with IPv4 address",
            ),
            (
                b"PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n",
                "invalid PROXY protocol header: invalid protocol UDP4",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                err_text(parse(input)),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn v1_unknown_ignores_the_rest() {
        assert_eq!(parsed(parse(b"PROXY UNKNOWN what ever\r\nX")), (None, 25));
    }

    #[test]
    fn v1_line_length_limit() {
        // 107 bytes with CRLF is the longest line; no CRLF within 107 bytes is an error.
        let mut line = b"PROXY UNKNOWN ".to_vec();
        line.resize(V1_MAX_LINE - 2, b'x');
        line.extend_from_slice(b"\r\n");
        assert_eq!(parsed(parse(&line)), (None, V1_MAX_LINE));
        line[V1_MAX_LINE - 2] = b'x';
        assert_eq!(
            err_text(parse(&line)),
            "invalid PROXY protocol header: v1 line too long"
        );
        assert_eq!(pending(parse(&line[..100])).step, Step::V1Line);
    }

    #[test]
    fn detection() {
        assert_eq!(parse(b"CONNEC").unwrap(), Parse::NotProxy);
        assert_eq!(
            parse(b"PROXY").unwrap(),
            Parse::NeedMore(Pending {
                step: Step::Version,
                have: 5
            })
        );
        // Detection needs all 6 bytes, as the reference reads them before deciding.
        assert_eq!(pending(parse(b"XY")).step, Step::Version);
        assert_eq!(
            parse(b"\r\n\r\n\0\r").unwrap(),
            Parse::NeedMore(Pending {
                step: Step::V2Signature,
                have: 0
            })
        );
        assert_eq!(
            err_text(parse(b"\r\n\r\n\0\rXXXXXXXXXX")),
            "invalid PROXY protocol header: invalid signature"
        );
    }

    #[test]
    fn v2_addresses_and_tlvs() {
        let mut a = vec![10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x10, 0x7e];
        a.extend_from_slice(&[1, 0, 1, b'x']); // a TLV, skipped
        let buf = v2(CMD_PROXY, FAMILY_INET | PROTO_STREAM, &a);
        let (addr, consumed) = parsed(parse(&buf));
        assert_eq!(consumed, buf.len());
        let addr = addr.unwrap();
        assert_eq!(addr.src.to_string(), "10.0.0.1:12345");
        assert_eq!(addr.dst.to_string(), "10.0.0.2:4222");
        // An IPv4-mapped source prints as IPv4, as Go's net.IP does.
        let mut a6 = vec![0u8; 36];
        a6[10..16].copy_from_slice(&[0xff, 0xff, 192, 0, 2, 1]);
        a6[31] = 1;
        let (addr, _) = parsed(parse(&v2(CMD_PROXY, FAMILY_INET6 | PROTO_STREAM, &a6)));
        let addr = addr.unwrap();
        assert_eq!(addr.to_string(), "192.0.2.1:0");
        assert_eq!(addr.network(), "tcp4");
        assert_eq!(addr.dst.to_string(), "[::1]:0");
    }

    #[test]
    fn v2_checks_in_go_order() {
        // LOCAL skips its address block whatever the family says.
        assert_eq!(parsed(parse(&v2(CMD_LOCAL, 0x55, &[1, 2, 3]))), (None, 19));
        assert_eq!(
            err_text(parse(&v2(2, FAMILY_INET | 2, &[]))),
            "unknown PROXY protocol command: 0x02"
        );
        assert_eq!(
            err_text(parse(&v2(CMD_PROXY, 0x30 | 2, &[]))),
            "unsupported PROXY protocol feature: only STREAM protocol supported"
        );
        assert_eq!(
            err_text(parse(&v2(CMD_PROXY, 0x30 | PROTO_STREAM, &[]))),
            "unsupported PROXY protocol feature: unsupported address family 0x30"
        );
        assert_eq!(
            parsed(parse(&v2(CMD_PROXY, PROTO_STREAM, &[9; 4]))),
            (None, 20)
        );
        assert_eq!(
            err_text(parse(&v2(CMD_PROXY, FAMILY_INET6 | PROTO_STREAM, &[0; 35]))),
            "IPv6 address data too short: 35 bytes"
        );
        let mut bad_version = v2(CMD_PROXY, FAMILY_INET | PROTO_STREAM, &[]);
        bad_version[12] = 0x11;
        assert_eq!(
            err_text(parse(&bad_version)),
            "invalid PROXY protocol header: invalid version 0x10"
        );
    }

    #[test]
    fn stream_end_errors_name_the_step() {
        let timeout = StreamEnd::TimedOut("read tcp a->b: i/o timeout".into());
        let e = |buf: &[u8], end: &StreamEnd| pending(parse(buf)).error(end).to_string();
        assert_eq!(
            e(b"", &StreamEnd::Eof),
            "failed to read protocol version: EOF"
        );
        assert_eq!(
            e(b"PR", &StreamEnd::Eof),
            "failed to read protocol version: unexpected EOF"
        );
        assert_eq!(
            e(b"PROXY TCP4", &StreamEnd::Eof),
            "failed to read v1 line: EOF"
        );
        assert_eq!(
            e(b"PROXY ", &timeout),
            "failed to read v1 line: read tcp a->b: i/o timeout"
        );
        assert_eq!(
            e(&V2_SIGNATURE[..6], &StreamEnd::Eof),
            "failed to read v2 signature: EOF"
        );
        assert_eq!(
            e(&V2_SIGNATURE[..7], &StreamEnd::Eof),
            "failed to read v2 signature: unexpected EOF"
        );
        assert_eq!(
            e(&V2_SIGNATURE, &StreamEnd::Eof),
            "failed to read v2 header: EOF"
        );
        let local = v2(CMD_LOCAL, 0, &[1, 2]);
        assert_eq!(
            e(&local[..17], &StreamEnd::Eof),
            "failed to discard LOCAL command address data: EOF"
        );
        let unspec = v2(CMD_PROXY, PROTO_STREAM, &[1, 2]);
        assert_eq!(
            e(&unspec[..16], &StreamEnd::Eof),
            "failed to discard UNSPEC address address data: EOF"
        );
        let inet = v2(CMD_PROXY, FAMILY_INET | PROTO_STREAM, &[0; 12]);
        assert_eq!(
            e(&inet[..16], &StreamEnd::Eof),
            "failed to read IPv4 address data: EOF"
        );
        assert_eq!(
            e(&inet[..20], &StreamEnd::Eof),
            "failed to read IPv4 address data: unexpected EOF"
        );
        let fixed = pending(parse_v2(&inet[..10]));
        assert_eq!(fixed.error(&timeout).kind, ErrorKind::Timeout);
        assert_eq!(
            fixed.error(&timeout).to_string(),
            "timeout reading PROXY protocol header"
        );
        assert_eq!(fixed.error(&StreamEnd::Eof).kind, ErrorKind::UnexpectedEof);
    }

    #[test]
    fn parse_v2_does_not_detect() {
        let mut buf = b"INVALID_SIG_".to_vec();
        buf.extend_from_slice(&[0x20, 0x11, 0x00, 0x0C]);
        assert_eq!(parse_v2(&buf).unwrap_err().kind, ErrorKind::Invalid);
        assert_eq!(parse(&buf).unwrap(), Parse::NotProxy);
    }

    #[test]
    fn more_bytes_never_change_a_verdict() {
        // Any prefix of a complete header needs more; the header plus anything parses
        // the same.
        let inet = v2(CMD_PROXY, FAMILY_INET | PROTO_STREAM, &[1; 12]);
        let line = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n".to_vec();
        for full in [inet, line] {
            for cut in 0..full.len() {
                pending(parse(&full[..cut]));
            }
            let mut longer = full.clone();
            longer.extend_from_slice(b"PING\r\n");
            assert_eq!(parse(&longer), parse(&full));
        }
    }
}
