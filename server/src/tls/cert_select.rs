//! Choosing among several server certificates (`tls { certs [...] }`) the way Go's
//! `tls.Config.Certificates` does: the first one that suits the client's hello (the name
//! it asked for, and a signature scheme it accepts), else the first one.

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::Arc;

/// The certificates, in configuration order, with the DNS names each is valid for.
#[derive(Debug)]
pub struct ByServerName {
    certs: Vec<(Arc<CertifiedKey>, Vec<String>)>,
}

impl ByServerName {
    /// `certs` must not be empty.
    pub fn new(certs: Vec<Arc<CertifiedKey>>) -> ByServerName {
        let certs = certs
            .into_iter()
            .map(|ck| {
                let names = ck
                    .cert
                    .first()
                    .and_then(|leaf| super::x509::parse_certificate(leaf))
                    .map(|info| info.dns_names)
                    .unwrap_or_default();
                (ck, names)
            })
            .collect();
        ByServerName { certs }
    }

    /// The index of the certificate for a client asking for `sni` that accepts a key when
    /// `accepts` says so.
    fn pick(&self, sni: Option<&str>, mut accepts: impl FnMut(&CertifiedKey) -> bool) -> usize {
        self.certs
            .iter()
            .position(|(ck, names)| {
                sni.is_none_or(|name| names.iter().any(|n| name_matches(n, name))) && accepts(ck)
            })
            .unwrap_or(0)
    }
}

impl ResolvesServerCert for ByServerName {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let schemes = hello.signature_schemes();
        let i = self.pick(hello.server_name(), |ck| {
            ck.key.choose_scheme(schemes).is_some()
        });
        self.certs.get(i).map(|(ck, _)| ck.clone())
    }
}

/// Whether a certificate's DNS name `pattern` covers `host` (Go's `VerifyHostname`: case
/// does not matter, a trailing dot is ignored, and `*` stands for exactly the leftmost
/// label).
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || pattern.is_empty() {
        return false;
    }
    match pattern.strip_prefix("*.") {
        Some(rest) => match host.split_once('.') {
            Some((first, host_rest)) => !first.is_empty() && host_rest == rest,
            None => false,
        },
        None => pattern == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_like_go() {
        assert!(name_matches("localhost", "LocalHost"));
        assert!(name_matches("example.com", "example.com."));
        assert!(name_matches("*.example.com", "a.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("example.com", "other.com"));
        assert!(!name_matches("", "example.com"));
    }

    fn picker(names: &[&[&str]]) -> ByServerName {
        // Only the names matter to `pick`; the keys are never used.
        ByServerName {
            certs: names
                .iter()
                .map(|n| {
                    (
                        Arc::new(CertifiedKey::new(vec![], test_key())),
                        n.iter().map(|s| s.to_string()).collect(),
                    )
                })
                .collect(),
        }
    }

    fn test_key() -> Arc<dyn rustls::sign::SigningKey> {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/certs/server-key.pem"
        ))
        .unwrap_or_default();
        let key = rustls_pemfile::private_key(&mut pem.as_slice())
            .ok()
            .flatten()
            .expect("test key");
        rustls::crypto::ring::sign::any_supported_type(&key).expect("signing key")
    }

    #[test]
    fn the_first_certificate_that_suits_is_served_else_the_first() {
        let p = picker(&[&["a.example.com"], &["b.example.com", "*.b.example.com"]]);
        assert_eq!(p.pick(Some("b.example.com"), |_| true), 1);
        assert_eq!(p.pick(Some("x.b.example.com"), |_| true), 1);
        assert_eq!(p.pick(Some("a.example.com"), |_| true), 0);
        assert_eq!(p.pick(Some("unknown.com"), |_| true), 0);
        // Without a name, the first the client can verify.
        assert_eq!(p.pick(None, |_| true), 0);
        let mut first = true;
        assert_eq!(p.pick(None, |_| !std::mem::replace(&mut first, false)), 1);
    }
}
