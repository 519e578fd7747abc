//! Just enough X.509 for what the server learns from a client certificate: the subject
//! (as Go prints it, and as an LDAP-style DN), the e-mail, DNS and URI alternative names,
//! and the DER of the public key (for `pinned_certs`). Pure: DER bytes in, facts out.
//!
//! The certificate has already been verified by rustls when this runs; a certificate this
//! reader cannot make sense of simply yields no identity.

use sha2::{Digest, Sha256};

/// One DER element: its tag, its content and the whole encoding (tag and length included).
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    raw: &'a [u8],
}

/// Splits the first DER element off `input`.
fn read_tlv(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *input.first()?;
    // Multi-byte tags do not occur in the parts read here.
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *input.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some((
        Tlv {
            tag,
            content: &input[hdr..end],
            raw: &input[..end],
        },
        &input[end..],
    ))
}

/// All elements of a constructed value's content.
fn elements(mut content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (t, rest) = read_tlv(content)?;
        out.push(t);
        content = rest;
    }
    Some(out)
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;

/// An object identifier in dotted form (`2.5.4.3`).
fn oid_string(content: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    for (i, b) in content.iter().enumerate() {
        v = v.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (a, b) = match v {
                    0..=39 => (0, v),
                    40..=79 => (1, v - 40),
                    _ => (2, v - 80),
                };
                arcs.push(a);
                arcs.push(b);
            } else {
                arcs.push(v);
            }
            v = 0;
        } else if i + 1 == content.len() {
            return None;
        }
    }
    if arcs.is_empty() {
        return None;
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// A directory string value as Go's `asn1` decodes it into a Go `string`; `None` for the
/// types Go does not turn into a string.
fn string_value(t: &Tlv<'_>) -> Option<String> {
    match t.tag {
        // PrintableString, IA5String, NumericString, UTF8String
        0x13 | 0x16 | 0x12 | 0x0c => String::from_utf8(t.content.to_vec()).ok(),
        // T61String: Go reads it as ISO 8859-1.
        0x14 => Some(t.content.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UCS-2, big endian.
        0x1e => {
            if !t.content.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = t
                .content
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// One attribute of a relative distinguished name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Dotted OID.
    pub oid: String,
    /// The value when it is a string (Go's `atv.Value.(string)`).
    pub value: Option<String>,
    /// The value's DER (tag, length, content) when it is not a string.
    pub raw: Vec<u8>,
}

/// A subject as encoded: relative distinguished names in certificate order.
pub type RdnSequence = Vec<Vec<Attribute>>;

fn parse_name(name: &Tlv<'_>) -> Option<RdnSequence> {
    if name.tag != SEQUENCE {
        return None;
    }
    let mut rdns = Vec::new();
    for set in elements(name.content)? {
        if set.tag != SET {
            return None;
        }
        let mut rdn = Vec::new();
        for atv in elements(set.content)? {
            let parts = elements(atv.content)?;
            let (oid, value) = match parts.as_slice() {
                [o, v] if atv.tag == SEQUENCE && o.tag == OID => (oid_string(o.content)?, v),
                _ => return None,
            };
            let string = string_value(value);
            rdn.push(Attribute {
                oid,
                raw: if string.is_some() {
                    Vec::new()
                } else {
                    value.raw.to_vec()
                },
                value: string,
            });
        }
        rdns.push(rdn);
    }
    Some(rdns)
}

/// What the server keeps of a client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: RdnSequence,
    pub emails: Vec<String>,
    pub dns_names: Vec<String>,
    pub uris: Vec<String>,
    /// Hex SHA-256 of the DER SubjectPublicKeyInfo (what `pinned_certs` lists).
    pub spki_sha256: String,
}

const OID_SAN: &str = "2.5.29.17";

/// Reads a DER certificate; `None` when it is not one this reader understands.
pub fn parse_certificate(der: &[u8]) -> Option<CertInfo> {
    let (cert, _) = read_tlv(der)?;
    if cert.tag != SEQUENCE {
        return None;
    }
    let (tbs, _) = read_tlv(cert.content)?;
    let mut fields = elements(tbs.content)?.into_iter().peekable();
    // Optional explicit version.
    if fields.peek().is_some_and(|t| t.tag == 0xa0) {
        fields.next();
    }
    let _serial = fields.next()?;
    let _sig_alg = fields.next()?;
    let _issuer = fields.next()?;
    let _validity = fields.next()?;
    let subject = parse_name(&fields.next()?)?;
    let spki = fields.next()?;
    let mut info = CertInfo {
        subject,
        spki_sha256: hex(&Sha256::digest(spki.raw)),
        ..CertInfo::default()
    };
    for f in fields {
        if f.tag != 0xa3 {
            continue;
        }
        let (exts, _) = read_tlv(f.content)?;
        for ext in elements(exts.content)? {
            let parts = elements(ext.content)?;
            let Some(oid) = parts.first().filter(|o| o.tag == OID) else {
                continue;
            };
            if oid_string(oid.content).as_deref() != Some(OID_SAN) {
                continue;
            }
            let Some(value) = parts.last().filter(|v| v.tag == 0x04) else {
                continue;
            };
            let (names, _) = read_tlv(value.content)?;
            for n in elements(names.content)? {
                let s = String::from_utf8_lossy(n.content).into_owned();
                match n.tag {
                    0x81 => info.emails.push(s),
                    0x82 => info.dns_names.push(s),
                    0x86 => info.uris.push(s),
                    _ => {}
                }
            }
        }
    }
    Some(info)
}

/// A Go string as `encoding/asn1` marshals it: PrintableString when every character
/// allows it, else UTF8String.
fn go_marshal_string(v: &str) -> Vec<u8> {
    let printable = v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b));
    let tag = if printable { 0x13 } else { 0x0c };
    let len = v.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(v.as_bytes());
    out
}

/// Hex SHA-256 of `data` (Go's fingerprints in monitoring).
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Short names of the attribute types Go prints by name.
fn go_type_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.6" => "C",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.3" => "CN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.17" => "POSTALCODE",
        _ => return None,
    })
}

/// Escapes a value as Go's `RDNSequence.String` does (RFC 2253 specials; a leading `#`
/// or space and a trailing space).
fn escape_value(v: &str, out: &mut String) {
    let n = v.chars().count();
    for (k, c) in v.chars().enumerate() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k + 1 == n,
            '#' => k == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
}

impl CertInfo {
    /// The subject as Go's `cert.Subject.ToRDNSequence().String()` prints it: only the
    /// nine attribute types Go's `pkix.Name` keeps, grouped by type (one multi-valued RDN
    /// per type, C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER), then printed in
    /// reverse, e.g. `CN=example.com,OU=NATS.io,O=Synadia,C=US`.
    pub fn go_subject_string(&self) -> String {
        const ORDER: [&str; 9] = [
            "2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.9", "2.5.4.17", "2.5.4.10", "2.5.4.11",
            "2.5.4.3", "2.5.4.5",
        ];
        // CN and SERIALNUMBER keep the last value only (a Go string, not a list).
        let single = |oid: &str| oid == "2.5.4.3" || oid == "2.5.4.5";
        let mut groups: Vec<Vec<&str>> = vec![Vec::new(); ORDER.len()];
        for atv in self.subject.iter().flatten() {
            let Some(v) = &atv.value else { continue };
            if let Some(i) = ORDER.iter().position(|o| *o == atv.oid) {
                if single(&atv.oid) {
                    groups[i].clear();
                }
                groups[i].push(v);
            }
        }
        let mut out = String::new();
        for (i, values) in groups.iter().enumerate().rev() {
            if values.is_empty() || (single(ORDER[i]) && values[0].is_empty()) {
                continue;
            }
            if !out.is_empty() {
                out.push(',');
            }
            let name = go_type_name(ORDER[i]).unwrap_or_default();
            for (j, v) in values.iter().enumerate() {
                if j > 0 {
                    out.push('+');
                }
                out.push_str(name);
                out.push('=');
                escape_value(v, &mut out);
            }
        }
        out
    }

    /// The subject as Go's `cert.Subject.String()` prints it: like
    /// [`CertInfo::go_subject_string`], followed by the attributes Go has no field for
    /// (e-mail, DC, UID...), last first, each as `OID=#<DER hex>` (Go puts them at the
    /// start of the sequence so that they print last).
    pub fn go_name_string(&self) -> String {
        let mut extras: Vec<String> = Vec::new();
        for atv in self.subject.iter().flatten() {
            if go_type_name(&atv.oid).is_some() {
                continue;
            }
            let der = match &atv.value {
                Some(v) => go_marshal_string(v),
                None => atv.raw.clone(),
            };
            extras.push(format!("{}=#{}", atv.oid, hex(&der)));
        }
        let mut out = self.go_subject_string();
        for e in extras.iter().rev() {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(e);
        }
        out
    }

    /// The domain components of the subject, in certificate order, as `DC=a,DC=b` (Go's
    /// `getTLSAuthDCs`).
    pub fn domain_components(&self) -> String {
        self.subject
            .iter()
            .flatten()
            .filter(|a| a.oid == OID_DC)
            .filter_map(|a| a.value.as_ref().map(|v| format!("DC={v}")))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The subject as an LDAP DN, last RDN first and attributes of an RDN in reverse (the
    /// reference's `FromRawCertSubject`); `None` when an attribute type has no LDAP name
    /// there or a value is not a string.
    pub fn ldap_dn(&self) -> Option<Dn> {
        let mut rdns = Vec::new();
        for rdn in self.subject.iter().rev() {
            if rdn.is_empty() {
                continue;
            }
            let mut attrs = Vec::new();
            for atv in rdn.iter().rev() {
                let typ = ldap_type_name(&atv.oid)?;
                attrs.push(DnAttribute {
                    typ: typ.to_string(),
                    value: atv.value.clone()?,
                });
            }
            rdns.push(attrs);
        }
        Some(Dn { rdns })
    }

    /// Whether the subject has anything Go would print (its `Subject.String()` is not
    /// empty).
    pub fn has_subject(&self) -> bool {
        self.subject.iter().flatten().next().is_some()
    }
}

const OID_DC: &str = "0.9.2342.19200300.100.1.25";

fn ldap_type_name(oid: &str) -> Option<&'static str> {
    if oid == OID_DC {
        return Some("DC");
    }
    go_type_name(oid)
}

/// One `TYPE=value` of a DN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnAttribute {
    pub typ: String,
    pub value: String,
}

impl DnAttribute {
    fn same(&self, o: &DnAttribute) -> bool {
        self.typ.eq_ignore_ascii_case(&o.typ) && self.value == o.value
    }
}

/// An LDAP distinguished name: RDNs, each a set of attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dn {
    pub rdns: Vec<Vec<DnAttribute>>,
}

fn rdn_equal(a: &[DnAttribute], b: &[DnAttribute]) -> bool {
    a.len() == b.len()
        && a.iter().all(|x| b.iter().any(|y| x.same(y)))
        && b.iter().all(|x| a.iter().any(|y| x.same(y)))
}

impl Dn {
    /// Parses a DN string such as `CN=a,OU=b+O=c` with RFC 4514 escapes (`\,` or `\2C`).
    /// Values in BER form (`#...`) are refused.
    pub fn parse(s: &str) -> Result<Dn, String> {
        let b = s.as_bytes();
        let mut dn = Dn::default();
        let mut rdn: Vec<DnAttribute> = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut typ: Option<String> = None;
        let mut trailing_spaces = 0usize;
        let take = |buf: &mut Vec<u8>, trailing: &mut usize| -> String {
            let keep = buf.len() - *trailing;
            let s = String::from_utf8_lossy(&buf[..keep]).into_owned();
            buf.clear();
            *trailing = 0;
            s
        };
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            match c {
                b'\\' => {
                    trailing_spaces = 0;
                    let next = *b.get(i + 1).ok_or("got corrupted escaped character")?;
                    if b" \"#+,;<=>\\".contains(&next) {
                        buf.push(next);
                        i += 2;
                        continue;
                    }
                    let pair = b
                        .get(i + 1..i + 3)
                        .ok_or("got corrupted escaped character")?;
                    if let Some(&bad) = pair.iter().find(|c| !c.is_ascii_hexdigit()) {
                        // Go's encoding/hex wording.
                        let ch = char::from(bad);
                        return Err(format!(
                            "failed to decode escaped character: encoding/hex: invalid byte: U+{:04X} {ch:?}",
                            u32::from(ch)
                        ));
                    }
                    let hexs = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
                    let v = u8::from_str_radix(hexs, 16)
                        .map_err(|e| format!("failed to decode escaped character: {e}"))?;
                    buf.push(v);
                    i += 3;
                    continue;
                }
                b'=' => {
                    typ = Some(take(&mut buf, &mut trailing_spaces));
                    if b.get(i + 1) == Some(&b'#') {
                        return Err("unsupported BER encoding".into());
                    }
                }
                b',' | b'+' => {
                    let t = typ.take().filter(|t| !t.is_empty());
                    let Some(t) = t else {
                        return Err("incomplete type, value pair".into());
                    };
                    rdn.push(DnAttribute {
                        typ: t,
                        value: take(&mut buf, &mut trailing_spaces),
                    });
                    if c == b',' {
                        dn.rdns.push(std::mem::take(&mut rdn));
                    }
                }
                b' ' if buf.is_empty() => {}
                _ => {
                    if c == b' ' {
                        trailing_spaces += 1;
                    } else {
                        trailing_spaces = 0;
                    }
                    buf.push(c);
                }
            }
            i += 1;
        }
        if !buf.is_empty() {
            let t = typ.take().filter(|t| !t.is_empty());
            let Some(t) = t else {
                return Err("DN ended with incomplete type, value pair".into());
            };
            rdn.push(DnAttribute {
                typ: t,
                value: take(&mut buf, &mut trailing_spaces),
            });
            dn.rdns.push(rdn);
        }
        Ok(dn)
    }

    /// Same RDNs in the same order.
    pub fn equal(&self, o: &Dn) -> bool {
        self.rdns.len() == o.rdns.len()
            && self.rdns.iter().zip(&o.rdns).all(|(a, b)| rdn_equal(a, b))
    }

    /// Whether `self` is a proper ancestor of `o`: `o` has more RDNs and ends with
    /// `self`'s, in order.
    pub fn ancestor_of(&self, o: &Dn) -> bool {
        if self.rdns.len() >= o.rdns.len() {
            return false;
        }
        let tail = &o.rdns[o.rdns.len() - self.rdns.len()..];
        self.rdns.iter().zip(tail).all(|(a, b)| rdn_equal(a, b))
    }

    /// Same RDNs in any order.
    pub fn rdns_match(&self, o: &Dn) -> bool {
        if self.rdns.len() != o.rdns.len() {
            return false;
        }
        let mut used = vec![false; o.rdns.len()];
        for a in &self.rdns {
            let Some(j) = (0..o.rdns.len()).find(|&j| !used[j] && rdn_equal(a, &o.rdns[j])) else {
                return false;
            };
            used[j] = true;
        }
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn attr(oid: &str, v: &str) -> Attribute {
        Attribute {
            oid: oid.into(),
            value: Some(v.into()),
            raw: Vec::new(),
        }
    }

    #[test]
    fn go_subject_string_groups_and_reverses() {
        let c = CertInfo {
            subject: vec![
                vec![attr(OID_DC, "org")],
                vec![attr(OID_DC, "foo")],
                vec![attr("2.5.4.6", "US")],
                vec![attr("2.5.4.8", "CA")],
                vec![attr("2.5.4.10", "Synadia")],
                vec![attr("2.5.4.11", "NATS"), attr("2.5.4.11", "Team")],
                vec![attr("2.5.4.3", "jdoe, \"x\"")],
                vec![attr("1.2.840.113549.1.9.1", "a@b.c")],
            ],
            ..CertInfo::default()
        };
        assert_eq!(
            c.go_subject_string(),
            r#"CN=jdoe\, \"x\",OU=NATS+OU=Team,O=Synadia,ST=CA,C=US"#
        );
        assert_eq!(c.domain_components(), "DC=org,DC=foo");
        // Go's Name.String(): the others first, last one first, as OID=#DER.
        assert_eq!(
            c.go_name_string(),
            format!(
                "{},1.2.840.113549.1.9.1=#0c056140622e63,{OID_DC}=#1303666f6f,{OID_DC}=#13036f7267",
                c.go_subject_string()
            )
        );
        // The e-mail attribute has no LDAP name: no DN.
        assert!(c.ldap_dn().is_none());
    }

    #[test]
    fn ldap_dn_reverses_rdns_and_attributes() {
        let c = CertInfo {
            subject: vec![
                vec![attr(OID_DC, "org")],
                vec![attr("2.5.4.10", "Acme"), attr("2.5.4.11", "Eng")],
                vec![attr("2.5.4.3", "box")],
            ],
            ..CertInfo::default()
        };
        let dn = c.ldap_dn().unwrap();
        let want = Dn::parse("CN=box,OU=Eng+O=Acme,DC=org").unwrap();
        assert!(dn.equal(&want));
        let reordered = Dn::parse("DC=org, O=Acme+OU=Eng, cn=box").unwrap();
        assert!(!dn.equal(&reordered));
        assert!(dn.rdns_match(&reordered));
    }

    #[test]
    fn dn_parse_like_go() {
        let dn = Dn::parse(r"CN=a\,b  ,OU=x\2Cy,O= lead").unwrap();
        assert_eq!(dn.rdns[0][0].value, "a,b");
        assert_eq!(dn.rdns[1][0].value, "x,y");
        assert_eq!(dn.rdns[2][0].value, "lead");
        assert!(Dn::parse("CN=#0101").is_err());
        assert!(Dn::parse("=x,").is_err());
        assert!(Dn::parse("nobody").is_err());
        assert!(Dn::parse(r"CN=a\").is_err());
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(parse_certificate(b"").is_none());
        assert!(parse_certificate(&[0x30, 0x85, 0, 0, 0, 0, 0]).is_none());
        assert!(parse_certificate(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
    }

    #[test]
    fn oid_strings() {
        assert_eq!(oid_string(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert_eq!(
            oid_string(&[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19]).unwrap(),
            OID_DC
        );
    }
}
