//! Reading the arguments of one control line. Pure functions over the bytes between the
//! operation name and the line end; they return byte ranges into that slice so the parser
//! can hand out zero-copy `Bytes`.

use super::error::{go_fields, ProtocolError};
use std::ops::Range;

/// The longest size field nats-server accepts (9 digits, just under 1 GB).
const MAX_SIZE_DIGITS: usize = 9;

/// Reads a message size: 1 to 9 ASCII digits. Anything else is `None` (Go's `-1`).
#[inline]
pub fn parse_size(d: &[u8]) -> Option<usize> {
    if d.is_empty() || d.len() > MAX_SIZE_DIGITS {
        return None;
    }
    let mut n = 0usize;
    for &b in d {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(b - b'0');
    }
    Some(n)
}

/// Splits `arg` into fields separated by runs of blanks (space, tab and, when `crlf`,
/// CR and LF too), yielding each field's range.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    arg: &'a [u8],
    pos: usize,
    crlf: bool,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(arg: &'a [u8], crlf: bool) -> Self {
        Fields { arg, pos: 0, crlf }
    }

    #[inline]
    fn is_sep(&self, b: u8) -> bool {
        b <= b' ' && (b == b' ' || b == b'\t' || (self.crlf && (b == b'\r' || b == b'\n')))
    }
}

impl Iterator for Fields<'_> {
    type Item = Range<usize>;

    #[inline]
    fn next(&mut self) -> Option<Range<usize>> {
        let len = self.arg.len();
        while self.pos < len && self.is_sep(self.arg[self.pos]) {
            self.pos += 1;
        }
        if self.pos >= len {
            return None;
        }
        let start = self.pos;
        while self.pos < len && !self.is_sep(self.arg[self.pos]) {
            self.pos += 1;
        }
        Some(start..self.pos)
    }
}

/// Collects up to `N` fields and counts all of them, without allocating. This is the hot
/// path of every PUB, so it is one pass with a cheap test for the common non-blank byte.
#[inline]
fn split_fixed<const N: usize>(arg: &[u8], crlf: bool) -> ([Range<usize>; N], usize) {
    let mut out: [Range<usize>; N] = std::array::from_fn(|_| 0..0);
    let mut count = 0;
    let mut start = None;
    for (i, &b) in arg.iter().enumerate() {
        // Every separator is at most a space; most bytes are not.
        let sep = b <= b' ' && (b == b' ' || b == b'\t' || (crlf && (b == b'\r' || b == b'\n')));
        match (sep, start) {
            (true, Some(s)) => {
                if count < N {
                    out[count] = s..i;
                }
                count += 1;
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        if count < N {
            out[count] = s..arg.len();
        }
        count += 1;
    }
    (out, count)
}

/// The arguments of `PUB subject [reply] size` or `HPUB subject [reply] hdr_size total_size`,
/// as ranges into the argument slice they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubArgs {
    pub subject: Range<usize>,
    pub reply: Option<Range<usize>>,
    /// The header size field (HPUB only).
    pub header_text: Option<Range<usize>>,
    /// The header size (HPUB only).
    pub header_len: Option<usize>,
    /// The size field as sent (Go's `szb`).
    pub size_text: Range<usize>,
    /// Total size of the message: headers plus body.
    pub size: usize,
}

impl PubArgs {
    pub fn subject<'a>(&self, arg: &'a [u8]) -> &'a [u8] {
        &arg[self.subject.clone()]
    }
    pub fn reply<'a>(&self, arg: &'a [u8]) -> Option<&'a [u8]> {
        self.reply.clone().map(|r| &arg[r])
    }
    pub fn size_text<'a>(&self, arg: &'a [u8]) -> &'a [u8] {
        &arg[self.size_text.clone()]
    }
    pub fn header_text<'a>(&self, arg: &'a [u8]) -> Option<&'a [u8]> {
        self.header_text.clone().map(|r| &arg[r])
    }
}

/// Reads the arguments of `PUB` (everything after `PUB ` up to the line end) and applies
/// the max payload limit to the announced size, as nats-server's `processPub` does.
#[inline]
pub fn parse_pub_args(arg: &[u8], max_payload: usize) -> Result<PubArgs, ProtocolError> {
    let (f, n) = split_fixed::<3>(arg, false);
    let (subject, reply, size_text) = match n {
        2 => (f[0].clone(), None, f[1].clone()),
        3 => (f[0].clone(), Some(f[1].clone()), f[2].clone()),
        _ => {
            return Err(ProtocolError::bad_args_quoted(
                "processPub Parse Error",
                arg,
            ))
        }
    };
    let Some(size) = parse_size(&arg[size_text.clone()]) else {
        return Err(ProtocolError::bad_args_quoted(
            "processPub Bad or Missing Size",
            arg,
        ));
    };
    if size > max_payload {
        return Err(ProtocolError::max_payload(size, max_payload));
    }
    Ok(PubArgs {
        subject,
        reply,
        header_text: None,
        header_len: None,
        size_text,
        size,
    })
}

/// Reads the arguments of `HPUB`, as nats-server's `processHeaderPub` does (the check that
/// the connection negotiated headers is the caller's).
pub fn parse_hpub_args(arg: &[u8], max_payload: usize) -> Result<PubArgs, ProtocolError> {
    let (f, n) = split_fixed::<4>(arg, false);
    let (subject, reply, header_text, size_text) = match n {
        3 => (f[0].clone(), None, f[1].clone(), f[2].clone()),
        4 => (f[0].clone(), Some(f[1].clone()), f[2].clone(), f[3].clone()),
        _ => {
            return Err(ProtocolError::bad_args_quoted(
                "processHeaderPub Parse Error",
                arg,
            ))
        }
    };
    let Some(header_len) = parse_size(&arg[header_text.clone()]) else {
        return Err(ProtocolError::bad_args_quoted(
            "processHeaderPub Bad or Missing Header Size",
            arg,
        ));
    };
    let Some(size) = parse_size(&arg[size_text.clone()]) else {
        return Err(ProtocolError::bad_args_quoted(
            "processHeaderPub Bad or Missing Total Size",
            arg,
        ));
    };
    if header_len > size {
        return Err(ProtocolError::bad_args_quoted(
            "processHeaderPub Header Size larger then TotalSize",
            arg,
        ));
    }
    if size > max_payload {
        return Err(ProtocolError::max_payload(size, max_payload));
    }
    Ok(PubArgs {
        subject,
        reply,
        header_text: Some(header_text),
        header_len: Some(header_len),
        size_text,
        size,
    })
}

/// The arguments of a client `SUB subject [queue] sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubArgs {
    pub subject: Range<usize>,
    pub queue: Option<Range<usize>>,
    pub sid: Range<usize>,
}

/// Reads the arguments of a client `SUB` as nats-server's `parseSub` does.
pub fn parse_sub_args(arg: &[u8]) -> Result<SubArgs, ProtocolError> {
    let (f, n) = split_fixed::<3>(arg, true);
    match n {
        2 => Ok(SubArgs {
            subject: f[0].clone(),
            queue: None,
            sid: f[1].clone(),
        }),
        3 => Ok(SubArgs {
            subject: f[0].clone(),
            queue: Some(f[1].clone()),
            sid: f[2].clone(),
        }),
        _ => Err(ProtocolError::bad_args_quoted(
            "processSub Parse Error",
            arg,
        )),
    }
}

/// The arguments of `UNSUB sid [max]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubArgs {
    pub sid: Range<usize>,
    /// The max field when present and a valid size. nats-server treats an absent, invalid
    /// or zero max alike: the subscription is removed at once.
    pub max: Option<u64>,
}

/// Reads the arguments of `UNSUB` as nats-server's `processUnsub` does.
pub fn parse_unsub_args(arg: &[u8]) -> Result<UnsubArgs, ProtocolError> {
    let (f, n) = split_fixed::<2>(arg, true);
    match n {
        1 => Ok(UnsubArgs {
            sid: f[0].clone(),
            max: None,
        }),
        2 => Ok(UnsubArgs {
            sid: f[0].clone(),
            max: parse_size(&arg[f[1].clone()]).map(|n| n as u64),
        }),
        _ => Err(ProtocolError::bad_args_quoted(
            "processUnsub Parse Error",
            arg,
        )),
    }
}

/// Which flavour of inter-server message line is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgForm {
    /// `RMSG account subject [+ reply | |] [queues...] size` (routes and gateways).
    Routed,
    /// `HMSG account subject [+ reply | |] [queues...] hdr size` (routes and gateways).
    RoutedHeader,
    /// `LMSG origin account subject [...] hdr size` from a route: an origin cluster, always
    /// with headers.
    RoutedOrigin,
    /// `LMSG subject [+ reply | |] [queues...] size` from a leafnode.
    Leaf,
    /// `HMSG subject [+ reply | |] [queues...] hdr size` from a leafnode.
    LeafHeader,
}

impl MsgForm {
    fn name(self) -> &'static str {
        match self {
            MsgForm::Routed => "processRoutedMsgArgs",
            MsgForm::RoutedHeader => "processRoutedHeaderMsgArgs",
            MsgForm::RoutedOrigin => "processRoutedOriginClusterMsgArgs",
            MsgForm::Leaf => "processLeafMsgArgs",
            MsgForm::LeafHeader => "processLeafHeaderMsgArgs",
        }
    }

    fn has_header(self) -> bool {
        matches!(
            self,
            MsgForm::RoutedHeader | MsgForm::RoutedOrigin | MsgForm::LeafHeader
        )
    }

    /// How many leading fields name where the message goes (origin, account, subject).
    fn lead_fields(self) -> usize {
        match self {
            MsgForm::Routed | MsgForm::RoutedHeader => 2,
            MsgForm::RoutedOrigin => 3,
            MsgForm::Leaf | MsgForm::LeafHeader => 1,
        }
    }
}

/// Where a field of an inter-server message line comes from: the line itself, or the
/// account a pinned-account route implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Line(Range<usize>),
    /// The route's pinned account (the line does not carry it).
    PinnedAccount,
}

/// The arguments of an inter-server message line (RMSG, HMSG, LMSG).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgArgs {
    pub origin: Option<Range<usize>>,
    pub account: Option<Field>,
    pub subject: Field,
    pub reply: Option<Range<usize>>,
    pub queues: Vec<Range<usize>>,
    pub header_len: Option<usize>,
    pub size: usize,
}

/// Reads the arguments of an inter-server message line like nats-server's
/// `processRouted*MsgArgs` / `processLeaf*MsgArgs`. `pinned_account` is the account of a
/// route dedicated to one account (its lines omit the account). `max_payload` applies to
/// leafnode messages only, as in nats-server.
pub fn parse_msg_args(
    form: MsgForm,
    arg: &[u8],
    pinned_account: Option<&[u8]>,
    max_payload: usize,
) -> Result<MsgArgs, ProtocolError> {
    let mut fields: Vec<Field> = Vec::with_capacity(8);
    let pinned = pinned_account.filter(|a| !a.is_empty());
    if pinned.is_some() && matches!(form, MsgForm::Routed | MsgForm::RoutedHeader) {
        fields.push(Field::PinnedAccount);
    }
    fields.extend(Fields::new(arg, true).map(Field::Line));
    if pinned.is_some() && form == MsgForm::RoutedOrigin && fields.len() > 2 {
        // The pinned account goes in as the second field.
        fields.insert(1, Field::PinnedAccount);
    }
    let name = form.name();
    let text = |f: &Field| -> &[u8] {
        match f {
            Field::Line(r) => &arg[r.clone()],
            Field::PinnedAccount => pinned.unwrap_or_default(),
        }
    };
    let all_fields = || go_fields(fields.iter().map(text));
    let lead = form.lead_fields();
    let sizes = if form.has_header() { 2 } else { 1 };
    let n = fields.len();
    if n < lead + sizes {
        return Err(ProtocolError::bad_args_plain(
            &format!("{name} Parse Error"),
            &all_fields(),
        ));
    }
    let (reply, queues) = if n == lead + sizes {
        (None, Vec::new())
    } else if n == lead + sizes + 1 {
        match &fields[lead] {
            Field::Line(r) => (Some(r.clone()), Vec::new()),
            Field::PinnedAccount => (None, Vec::new()),
        }
    } else {
        let indicator = text(&fields[lead]);
        let bad = || {
            ProtocolError::bad_args_plain(
                &format!("{name} Bad or Missing Reply Indicator"),
                &String::from_utf8_lossy(indicator),
            )
        };
        if indicator.len() != 1 {
            return Err(bad());
        }
        let (reply, first_queue) = match indicator[0] {
            b'+' => match &fields[lead + 1] {
                Field::Line(r) => (Some(r.clone()), lead + 2),
                Field::PinnedAccount => (None, lead + 2),
            },
            b'|' => (None, lead + 1),
            _ => return Err(bad()),
        };
        let queues = fields[first_queue.min(n - sizes)..n - sizes]
            .iter()
            .filter_map(|f| match f {
                Field::Line(r) => Some(r.clone()),
                Field::PinnedAccount => None,
            })
            .collect();
        (reply, queues)
    };
    let header_len = if form.has_header() {
        match parse_size(text(&fields[n - 2])) {
            Some(h) => Some(h),
            None => {
                return Err(ProtocolError::bad_args_plain(
                    &format!("{name} Bad or Missing Header Size"),
                    &String::from_utf8_lossy(arg),
                ))
            }
        }
    } else {
        None
    };
    let Some(size) = parse_size(text(&fields[n - 1])) else {
        return Err(ProtocolError::bad_args_plain(
            &format!("{name} Bad or Missing Size"),
            &all_fields(),
        ));
    };
    if header_len.is_some_and(|h| h > size) {
        return Err(ProtocolError::bad_args_plain(
            &format!("{name} Header Size larger then TotalSize"),
            &String::from_utf8_lossy(arg),
        ));
    }
    if matches!(form, MsgForm::Leaf | MsgForm::LeafHeader) && size > max_payload {
        return Err(ProtocolError::max_payload(size, max_payload));
    }
    let as_range = |f: &Field| match f {
        Field::Line(r) => Some(r.clone()),
        Field::PinnedAccount => None,
    };
    let (origin, account, subject) = match form {
        MsgForm::Routed | MsgForm::RoutedHeader => {
            (None, Some(fields[0].clone()), fields[1].clone())
        }
        MsgForm::RoutedOrigin => (
            as_range(&fields[0]),
            Some(fields[1].clone()),
            fields[2].clone(),
        ),
        MsgForm::Leaf | MsgForm::LeafHeader => (None, None, fields[0].clone()),
    };
    Ok(MsgArgs {
        origin,
        account,
        subject,
        reply,
        queues,
        header_len,
        size,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size(b"0"), Some(0));
        assert_eq!(parse_size(b"999999999"), Some(999_999_999));
        assert_eq!(parse_size(b"1000000000"), None);
        assert_eq!(parse_size(b""), None);
        assert_eq!(parse_size(b"1a"), None);
        assert_eq!(parse_size(b"-1"), None);
    }

    #[test]
    fn pub_args() {
        let a = b" foo  bar 22 ";
        let p = parse_pub_args(a, usize::MAX).unwrap();
        assert_eq!(p.subject(a), b"foo");
        assert_eq!(p.reply(a), Some(&b"bar"[..]));
        assert_eq!(p.size_text(a), b"22");
        assert_eq!(p.size, 22);
        assert!(parse_pub_args(b"foo", usize::MAX).is_err());
        assert!(parse_pub_args(b"a b c d", usize::MAX).is_err());
        let e = parse_pub_args(b"foo 11", 10).unwrap_err();
        assert_eq!(e.to_string(), "maximum payload exceeded: 11 vs 10");
        // PUB fields split on blanks only: a CR stays in the field.
        assert!(parse_pub_args(b"foo 5\r", usize::MAX).is_err());
    }

    #[test]
    fn hpub_args() {
        let a = b"foo INBOX 12 17";
        let p = parse_hpub_args(a, usize::MAX).unwrap();
        assert_eq!(p.header_len, Some(12));
        assert_eq!(p.header_text(a), Some(&b"12"[..]));
        assert_eq!(p.size, 17);
        let e = parse_hpub_args(b"foo 18 17", usize::MAX).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"processHeaderPub Header Size larger then TotalSize: "foo 18 17""#
        );
    }

    #[test]
    fn sub_unsub_args() {
        let a = b"foo\r\nq 1";
        let s = parse_sub_args(a).unwrap();
        assert_eq!(&a[s.subject], b"foo");
        assert_eq!(&a[s.queue.unwrap()], b"q");
        assert_eq!(&a[s.sid], b"1");
        assert!(parse_sub_args(b"foo").is_err());
        assert!(parse_sub_args(b"a b c d").is_err());
        let u = parse_unsub_args(b"1 10").unwrap();
        assert_eq!(u.max, Some(10));
        assert_eq!(parse_unsub_args(b"1 x").unwrap().max, None);
        assert!(parse_unsub_args(b"").is_err());
        assert!(parse_unsub_args(b"1 2 3").is_err());
    }

    #[test]
    fn routed_args() {
        let a = b"$G foo.bar + reply baz qux 11";
        let m = parse_msg_args(MsgForm::Routed, a, None, usize::MAX).unwrap();
        assert_eq!(m.account, Some(Field::Line(0..2)));
        assert_eq!(m.subject, Field::Line(3..10));
        assert_eq!(&a[m.reply.clone().unwrap()], b"reply");
        assert_eq!(m.queues.len(), 2);
        assert_eq!(m.size, 11);
        let e = parse_msg_args(MsgForm::Routed, b"$G foo", None, usize::MAX).unwrap_err();
        assert_eq!(
            e.to_string(),
            "processRoutedMsgArgs Parse Error: '[$G foo]'"
        );
        let e = parse_msg_args(MsgForm::Routed, b"$G foo x y 1", None, usize::MAX).unwrap_err();
        assert_eq!(
            e.to_string(),
            "processRoutedMsgArgs Bad or Missing Reply Indicator: 'x'"
        );
        // Pinned-account route: the account is implied.
        let m = parse_msg_args(MsgForm::Routed, b"foo 5", Some(b"A"), usize::MAX).unwrap();
        assert_eq!(m.account, Some(Field::PinnedAccount));
        assert_eq!(m.subject, Field::Line(0..3));
        let m = parse_msg_args(MsgForm::RoutedOrigin, b"C1 $G foo 2 5", None, 0).unwrap();
        assert_eq!(m.origin, Some(0..2));
        assert_eq!(m.header_len, Some(2));
        let e = parse_msg_args(MsgForm::Leaf, b"foo 17", None, 16).unwrap_err();
        assert_eq!(e.to_string(), "maximum payload exceeded: 17 vs 16");
        let e = parse_msg_args(MsgForm::LeafHeader, b"foo 4 17", None, 16).unwrap_err();
        assert_eq!(e.to_string(), "maximum payload exceeded: 17 vs 16");
    }
}
