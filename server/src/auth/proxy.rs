//! Trusted proxies (`proxies { trusted: [...] }`): a proxy in front of the server signs the
//! nonce of each client's INFO with its nkey and passes the signature as `proxy_sig` in
//! CONNECT. Users with `proxy_required` may only connect that way.

use crate::config::Options;
use base64::Engine;

/// `proxies { trusted [ {key: ...} ] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxiesConfig {
    /// The public nkeys of the trusted proxies, in configuration order.
    pub trusted: Vec<String>,
}

/// What a connection's proxy signature proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// No signature, or no trusted proxies configured: the connection is not proxied.
    NotProxied,
    /// A trusted proxy (this key) signed the nonce.
    Trusted(String),
    /// A signature that no trusted key verifies.
    NotTrusted,
}

/// Checks `proxy_sig` against the trusted proxy keys (Go's `proxyCheck`): the signature
/// is raw URL-safe base64 of the nonce signed by one of the keys; the first that verifies
/// wins.
pub fn check(o: &Options, proxy_sig: &str, nonce: Option<&str>) -> Check {
    let trusted = o
        .proxies
        .as_ref()
        .map(|p| p.trusted.as_slice())
        .unwrap_or(&[]);
    if proxy_sig.is_empty() || trusted.is_empty() {
        return Check::NotProxied;
    }
    let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(proxy_sig) else {
        return Check::NotTrusted;
    };
    let nonce = nonce.unwrap_or_default().as_bytes();
    for key in trusted {
        let Ok(kp) = nkeys::KeyPair::from_public_key(key) else {
            continue;
        };
        if kp.verify(nonce, &sig).is_ok() {
            return Check::Trusted(key.clone());
        }
    }
    Check::NotTrusted
}

/// Go's `validateProxies`: every trusted key must be a valid public nkey.
pub fn validate(o: &Options) -> Result<(), String> {
    let Some(p) = &o.proxies else {
        return Ok(());
    };
    match p
        .trusted
        .iter()
        .find(|k| nkeys::KeyPair::from_public_key(k).is_err())
    {
        Some(bad) => Err(format!(
            "proxy trusted key {} is invalid",
            crate::config::cli::go_quote(bad)
        )),
        None => Ok(()),
    }
}

/// Whether trusted proxies are configured (INFO then always carries a nonce).
pub fn has_trusted(o: &Options) -> bool {
    o.proxies.as_ref().is_some_and(|p| !p.trusted.is_empty())
}

/// The keys in `old` that `new` drops, and those it adds (Go's
/// `diffProxiesTrustedKeys`).
pub fn diff_trusted(old: &Options, new: &Options) -> (Vec<String>, Vec<String>) {
    let keys = |o: &Options| {
        o.proxies
            .as_ref()
            .map(|p| p.trusted.clone())
            .unwrap_or_default()
    };
    let (old, new) = (keys(old), keys(new));
    let removed = old.iter().filter(|k| !new.contains(k)).cloned().collect();
    let added = new.iter().filter(|k| !old.contains(k)).cloned().collect();
    (removed, added)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with_trusted(keys: &[String]) -> Options {
        Options {
            proxies: Some(ProxiesConfig {
                trusted: keys.to_vec(),
            }),
            ..Options::default()
        }
    }

    fn sign(kp: &nkeys::KeyPair, nonce: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kp.sign(nonce.as_bytes()).unwrap())
    }

    #[test]
    fn a_trusted_proxy_signature_verifies() {
        let p1 = nkeys::KeyPair::new_user();
        let p2 = nkeys::KeyPair::new_user();
        let o = with_trusted(&[p1.public_key(), p2.public_key()]);
        let sig = sign(&p2, "nonce");
        assert_eq!(
            check(&o, &sig, Some("nonce")),
            Check::Trusted(p2.public_key())
        );
        assert_eq!(check(&o, &sig, Some("other")), Check::NotTrusted);
        assert_eq!(check(&o, "*not base64*", Some("nonce")), Check::NotTrusted);
        let stranger = nkeys::KeyPair::new_user();
        assert_eq!(
            check(&o, &sign(&stranger, "nonce"), Some("nonce")),
            Check::NotTrusted
        );
        assert_eq!(check(&o, "", Some("nonce")), Check::NotProxied);
    }

    #[test]
    fn without_trusted_proxies_a_signature_is_ignored() {
        let p = nkeys::KeyPair::new_user();
        let o = Options::default();
        assert_eq!(check(&o, &sign(&p, "n"), Some("n")), Check::NotProxied);
        assert_eq!(
            check(&with_trusted(&[]), &sign(&p, "n"), Some("n")),
            Check::NotProxied
        );
    }

    #[test]
    fn invalid_keys_are_refused_with_go_text() {
        let good = nkeys::KeyPair::new_user().public_key();
        let o = with_trusted(&[good.clone(), "bad1".into(), "bad2".into()]);
        assert_eq!(
            validate(&o),
            Err("proxy trusted key \"bad1\" is invalid".into())
        );
        assert_eq!(validate(&with_trusted(&[good])), Ok(()));
        assert_eq!(validate(&Options::default()), Ok(()));
    }

    #[test]
    fn diff_names_removed_and_added_keys() {
        let a = with_trusted(&["A".into(), "B".into()]);
        let b = with_trusted(&["B".into(), "C".into()]);
        assert_eq!(diff_trusted(&a, &b), (vec!["A".into()], vec!["C".into()]));
        assert_eq!(
            diff_trusted(&a, &Options::default()),
            (vec!["A".into(), "B".into()], vec![])
        );
    }
}
