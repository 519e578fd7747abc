//! TLS for client connections with rustls: the options of a `tls { }` block (or the
//! `--tls*` flags), turned into a rustls server configuration the way nats-server's
//! `GenTLSConfig` turns them into a Go `tls.Config`; Go's cipher suite and curve names
//! mapped onto what rustls (with the *ring* provider) offers.
//!
//! The connection side (INFO first then upgrade, TLS first, timeouts, pinned
//! certificates) lives in `crate::client::tls_conn`.

pub mod cert_select;
pub mod in_process;
pub mod x509;

use rustls::crypto::{ring as provider, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// How long a TLS handshake may take by default (Go's `TLS_TIMEOUT`).
pub const DEFAULT_TLS_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a "TLS first" server waits for the client's handshake before sending INFO
/// when the fallback is `auto` (Go's `DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_DELAY`).
pub const DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_DELAY: Duration = Duration::from_millis(50);

/// A TLS version, as `min_version` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl TlsVersion {
    /// Go's `tlsVersionFromString`.
    pub fn parse(s: &str) -> Result<TlsVersion, String> {
        Ok(match s {
            "1.0" => TlsVersion::Tls10,
            "1.1" => TlsVersion::Tls11,
            "1.2" => TlsVersion::Tls12,
            "1.3" => TlsVersion::Tls13,
            _ => return Err(format!("unknown version: {s}")),
        })
    }

    /// Go's `tls.VersionName`.
    pub fn go_name(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "TLS 1.0",
            TlsVersion::Tls11 => "TLS 1.1",
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        }
    }
}

/// A cipher suite Go knows by name.
#[derive(Debug, Clone, Copy)]
pub struct GoCipher {
    pub name: &'static str,
    pub id: u16,
    /// In Go's `tls.InsecureCipherSuites()`: refused unless `allow_insecure_cipher_suites`.
    pub insecure: bool,
    /// A TLS 1.3 suite: always enabled in Go, whatever the configuration says.
    pub tls13: bool,
}

const fn c(name: &'static str, id: u16, insecure: bool, tls13: bool) -> GoCipher {
    GoCipher {
        name,
        id,
        insecure,
        tls13,
    }
}

/// Every cipher suite name Go accepts in `cipher_suites`, secure ones in Go's default order.
pub const GO_CIPHERS: &[GoCipher] = &[
    c("TLS_AES_128_GCM_SHA256", 0x1301, false, true),
    c("TLS_AES_256_GCM_SHA384", 0x1302, false, true),
    c("TLS_CHACHA20_POLY1305_SHA256", 0x1303, false, true),
    c("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xc009, false, false),
    c("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xc00a, false, false),
    c("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xc013, false, false),
    c("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xc014, false, false),
    c(
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02b,
        false,
        false,
    ),
    c(
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc02c,
        false,
        false,
    ),
    c(
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc02f,
        false,
        false,
    ),
    c(
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xc030,
        false,
        false,
    ),
    c(
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca8,
        false,
        false,
    ),
    c(
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca9,
        false,
        false,
    ),
    c("TLS_RSA_WITH_RC4_128_SHA", 0x0005, true, false),
    c("TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x000a, true, false),
    c("TLS_RSA_WITH_AES_128_CBC_SHA", 0x002f, true, false),
    c("TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035, true, false),
    c("TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003c, true, false),
    c("TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009c, true, false),
    c("TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009d, true, false),
    c("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", 0xc007, true, false),
    c("TLS_ECDHE_RSA_WITH_RC4_128_SHA", 0xc011, true, false),
    c("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", 0xc012, true, false),
    c(
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        0xc023,
        true,
        false,
    ),
    c("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0xc027, true, false),
];

/// Go's cipher suite by name (`parseCipher`).
pub fn go_cipher(name: &str) -> Option<&'static GoCipher> {
    GO_CIPHERS.iter().find(|c| c.name == name)
}

/// Go's default `cipher_suites`: every secure suite.
pub fn default_cipher_ids() -> Vec<u16> {
    GO_CIPHERS
        .iter()
        .filter(|c| !c.insecure)
        .map(|c| c.id)
        .collect()
}

/// The rustls suite of a Go cipher suite id; `None` where rustls has none (CBC, RC4,
/// 3DES and RSA key exchange suites).
pub fn rustls_suite(id: u16) -> Option<SupportedCipherSuite> {
    provider::ALL_CIPHER_SUITES
        .iter()
        .find(|s| u16::from(s.suite()) == id)
        .copied()
}

/// A curve Go knows by name (`curve_preferences`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    X25519Mlkem768,
    X25519,
    P256,
    P384,
    P521,
}

impl Curve {
    /// Go's `curvePreferenceMap`.
    pub fn parse(name: &str) -> Option<Curve> {
        Some(match name {
            "X25519MLKEM768" => Curve::X25519Mlkem768,
            "X25519" => Curve::X25519,
            "CurveP256" => Curve::P256,
            "CurveP384" => Curve::P384,
            "CurveP521" => Curve::P521,
            _ => return None,
        })
    }

    pub fn go_name(self) -> &'static str {
        match self {
            Curve::X25519Mlkem768 => "X25519MLKEM768",
            Curve::X25519 => "X25519",
            Curve::P256 => "CurveP256",
            Curve::P384 => "CurveP384",
            Curve::P521 => "CurveP521",
        }
    }

    /// The rustls key exchange group; `None` where the *ring* provider has none.
    fn kx_group(self) -> Option<&'static dyn SupportedKxGroup> {
        match self {
            Curve::X25519 => Some(provider::kx_group::X25519),
            Curve::P256 => Some(provider::kx_group::SECP256R1),
            Curve::P384 => Some(provider::kx_group::SECP384R1),
            Curve::X25519Mlkem768 | Curve::P521 => None,
        }
    }
}

/// Go's default curve preferences.
pub fn default_curves() -> Vec<Curve> {
    vec![
        Curve::X25519Mlkem768,
        Curve::X25519,
        Curve::P256,
        Curve::P384,
        Curve::P521,
    ]
}

/// The options of a `tls { }` block (Go's `TLSConfigOpts`), before files are loaded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsConfigOpts {
    pub cert_file: String,
    pub key_file: String,
    /// `certs`: several `(cert_file, key_file)` pairs instead of `cert_file`.
    pub certificates: Vec<(String, String)>,
    pub ca_file: String,
    pub verify: bool,
    pub insecure: bool,
    /// `verify_and_map`: the client's certificate names the user it connects as.
    pub map: bool,
    pub handshake_first: bool,
    /// With `handshake_first`: how long to wait for the client's handshake before falling
    /// back to sending INFO (zero: no fallback).
    pub fallback_delay: Duration,
    /// Seconds; zero means the default.
    pub timeout: f64,
    pub rate_limit: i64,
    pub allow_insecure_ciphers: bool,
    /// Go cipher suite ids; `None` means the defaults.
    pub ciphers: Option<Vec<u16>>,
    /// `None` means the defaults.
    pub curves: Option<Vec<Curve>>,
    /// Hex SHA-256 of accepted client public keys; `None` when not configured.
    pub pinned_certs: Option<BTreeSet<String>>,
    pub min_version: Option<TlsVersion>,
}

/// A loaded TLS configuration (Go's `*tls.Config` of the client listener).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub server: Arc<ServerConfig>,
    /// Client certificates are required and verified (`verify`/`verify_and_map`).
    pub verify: bool,
    /// Cipher suite ids as configured (Go's `CipherSuites`).
    pub cipher_ids: Vec<u16>,
    /// Curves as configured (Go's `CurvePreferences`).
    pub curves: Vec<Curve>,
    pub min_version: TlsVersion,
    /// The leaf certificate served (DER), for checks like Go's `cert.Leaf`.
    pub leaf: CertificateDer<'static>,
}

/// The rustls provider for a configuration: TLS 1.3 suites always (as Go), TLS 1.2
/// suites as configured, key exchange groups as configured.
fn provider_for(cipher_ids: &[u16], curves: &[Curve]) -> Result<CryptoProvider, String> {
    let mut suites: Vec<SupportedCipherSuite> = provider::ALL_CIPHER_SUITES
        .iter()
        .filter(|s| s.tls13().is_some())
        .copied()
        .collect();
    for id in cipher_ids {
        let Some(go) = GO_CIPHERS.iter().find(|c| c.id == *id) else {
            continue;
        };
        if go.tls13 {
            continue;
        }
        if let Some(s) = rustls_suite(*id) {
            suites.push(s);
        }
    }
    let mut kx: Vec<&'static dyn SupportedKxGroup> = Vec::new();
    for c in curves {
        if let Some(g) = c.kx_group() {
            kx.push(g);
        }
    }
    if kx.is_empty() {
        return Err("no supported curve preferences".into());
    }
    Ok(CryptoProvider {
        cipher_suites: suites,
        kx_groups: kx,
        ..provider::default_provider()
    })
}

/// Checks the cipher suites and curves of a block: names Go knows but rustls cannot use
/// are refused here, with a message saying so.
pub fn check_supported(ciphers: &[u16], curves: &[Curve]) -> Result<(), String> {
    let unsupported: Vec<&str> = ciphers
        .iter()
        .filter_map(|id| GO_CIPHERS.iter().find(|c| c.id == *id))
        .filter(|c| !c.tls13 && rustls_suite(c.id).is_none())
        .map(|c| c.name)
        .collect();
    if !unsupported.is_empty() {
        return Err(format!(
            "cipher suites not supported by natsd (rustls has no CBC, RC4, 3DES or RSA key exchange suites): {}",
            unsupported.join(", ")
        ));
    }
    let bad: Vec<&str> = curves
        .iter()
        .filter(|c| c.kx_group().is_none())
        .map(|c| c.go_name())
        .collect();
    if !bad.is_empty() {
        return Err(format!(
            "curve preferences not supported by natsd: {}",
            bad.join(", ")
        ));
    }
    Ok(())
}

fn read_file(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| crate::config::conf::parse::go_io_error(path, &e))
}

fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_file(path)?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls: failed to parse certificate PEM data: {e}"))?;
    if certs.is_empty() {
        return Err("tls: failed to find any PEM data in certificate input".into());
    }
    Ok(certs)
}

fn load_key(path: &str) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read_file(path)?;
    match rustls_pemfile::private_key(&mut pem.as_slice()) {
        Ok(Some(k)) => Ok(k),
        Ok(None) => Err("tls: failed to find any PEM data in key input".into()),
        Err(e) => Err(format!("tls: failed to parse private key: {e}")),
    }
}

/// Root certificates from a PEM file (Go's `AppendCertsFromPEM`).
pub fn load_roots(path: &str) -> Result<RootCertStore, String> {
    let pem = read_file(path)?;
    let mut roots = RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
        let _ = roots.add(c);
    }
    if roots.is_empty() {
        return Err("failed to parse root ca certificate".into());
    }
    Ok(roots)
}

fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    for c in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(c);
    }
    roots
}

/// Builds the server configuration (Go's `GenTLSConfig`); errors are Go's texts.
pub fn gen_tls_config(tc: &TlsConfigOpts) -> Result<TlsConfig, String> {
    let cipher_ids = tc.ciphers.clone().unwrap_or_else(default_cipher_ids);
    let curves = tc.curves.clone().unwrap_or_else(default_curves);
    let mut pairs = if tc.certificates.is_empty() {
        match (tc.cert_file.is_empty(), tc.key_file.is_empty()) {
            (false, true) => return Err("missing 'key_file' in TLS configuration".into()),
            (true, _) => return Err("missing 'cert_file' in TLS configuration".into()),
            (false, false) => {
                let certs = load_certs(&tc.cert_file)
                    .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?;
                let key = load_key(&tc.key_file)
                    .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?;
                vec![(certs, key)]
            }
        }
    } else {
        let n = tc.certificates.len();
        let mut pairs = Vec::with_capacity(n);
        for (i, (cert, key)) in tc.certificates.iter().enumerate() {
            let pair_err =
                |e: String| format!("error parsing X509 certificate/key pair {}/{n}: {e}", i + 1);
            pairs.push((
                load_certs(cert).map_err(pair_err)?,
                load_key(key).map_err(pair_err)?,
            ));
        }
        pairs
    };
    let min_version = match tc.min_version {
        Some(v) if v < TlsVersion::Tls12 => {
            return Err(format!("unsupported minimum TLS version: {}", v.go_name()))
        }
        Some(v) => v,
        None => TlsVersion::Tls12,
    };
    // Go drops curves it cannot use from the defaults silently; so does natsd.
    let usable_curves: Vec<Curve> = if tc.curves.is_none() {
        curves
            .iter()
            .copied()
            .filter(|c| c.kx_group().is_some())
            .collect()
    } else {
        curves.clone()
    };
    let provider = Arc::new(provider_for(&cipher_ids, &usable_curves)?);
    let key_provider = provider.key_provider;
    let versions: &[&'static rustls::SupportedProtocolVersion] = match min_version {
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("error creating TLS configuration: {e}"))?;
    let builder = if tc.verify {
        let roots = if tc.ca_file.is_empty() {
            system_roots()
        } else {
            load_roots(&tc.ca_file)?
        };
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("error creating client certificate verifier: {e}"))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        if !tc.ca_file.is_empty() {
            // Read (and checked) as Go does, though without `verify` it is not used.
            load_roots(&tc.ca_file)?;
        }
        builder.with_no_client_auth()
    };
    let leaf = pairs[0].0[0].clone();
    let mut server = if pairs.len() == 1 {
        let (certs, key) = pairs.remove(0);
        builder
            .with_single_cert(certs, key)
            .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?
    } else {
        let n = pairs.len();
        let mut keys = Vec::with_capacity(n);
        for (i, (certs, key)) in pairs.into_iter().enumerate() {
            let signing = key_provider.load_private_key(key).map_err(|e| {
                format!("error parsing X509 certificate/key pair {}/{n}: {e}", i + 1)
            })?;
            keys.push(Arc::new(rustls::sign::CertifiedKey::new(certs, signing)));
        }
        builder.with_cert_resolver(Arc::new(cert_select::ByServerName::new(keys)))
    };
    // Go prefers the server's order of cipher suites.
    server.ignore_client_order = true;
    Ok(TlsConfig {
        server: Arc::new(server),
        verify: tc.verify,
        cipher_ids,
        curves,
        min_version,
        leaf,
    })
}

/// INFO's `(tls_required, tls_verify, tls_available)` for these options, as Go sets them:
/// required unless plain clients are allowed too, available when they are.
pub fn info_flags(o: &crate::config::Options) -> (bool, bool, bool) {
    match &o.tls_config {
        None => (false, false, false),
        Some(t) => (!o.allow_non_tls, t.verify, o.allow_non_tls),
    }
}

/// Go's baseline for the timeouts (`setBaselineOptions`): a zero TLS timeout is the
/// default one, and a zero authentication timeout is the TLS timeout plus a second with
/// TLS, the default one without.
pub fn baseline_timeouts(o: &mut crate::config::Options) {
    if o.tls_timeout.is_zero() {
        o.tls_timeout = DEFAULT_TLS_TIMEOUT;
    }
    if o.auth_timeout.is_zero() {
        o.auth_timeout = if o.tls_config.is_some() {
            o.tls_timeout + Duration::from_secs(1)
        } else {
            crate::config::options::DEFAULT_AUTH_TIMEOUT
        };
    }
}

/// Go's name of a TLS version number (`tlsVersion`).
pub fn version_name(v: u16) -> String {
    match v {
        0x0301 => "1.0".into(),
        0x0302 => "1.1".into(),
        0x0303 => "1.2".into(),
        0x0304 => "1.3".into(),
        other => format!("Unknown [0x{other:x}]"),
    }
}

/// Go's name of a negotiated cipher suite (`tls.CipherSuiteName`).
pub fn cipher_name(s: rustls::CipherSuite) -> String {
    let id = u16::from(s);
    GO_CIPHERS
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.name.to_string())
        .unwrap_or_else(|| format!("0x{id:04X}"))
}

/// What a connection learned from its TLS handshake.
#[derive(Debug, Clone, Default)]
pub struct TlsState {
    /// `1.2` or `1.3`.
    pub version: String,
    pub cipher: String,
    /// The client's certificate, when it sent one.
    pub peer: Option<x509::CertInfo>,
    /// How many certificates the client sent.
    pub peer_chain_len: usize,
    /// The handshake came before INFO (`handshake_first`).
    pub first: bool,
    /// Each certificate the client sent, as monitoring shows it.
    pub peer_certs: Vec<PeerCert>,
}

/// A client certificate as `/connz?auth=1` shows it (Go's `TLSPeerCert`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerCert {
    /// Go's `cert.Subject.String()`.
    pub subject: String,
    /// Hex SHA-256 of the SubjectPublicKeyInfo.
    pub spki_sha256: String,
    /// Hex SHA-256 of the whole certificate.
    pub cert_sha256: String,
}

impl PeerCert {
    pub fn of(der: &[u8]) -> PeerCert {
        let info = x509::parse_certificate(der);
        PeerCert {
            subject: info
                .as_ref()
                .map(x509::CertInfo::go_name_string)
                .unwrap_or_default(),
            spki_sha256: info.map(|i| i.spki_sha256).unwrap_or_default(),
            cert_sha256: x509::sha256_hex(der),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn go_ciphers_map_onto_rustls() {
        for name in [
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        ] {
            let c = go_cipher(name).unwrap();
            assert!(rustls_suite(c.id).is_some(), "{name}");
            assert_eq!(cipher_name(rustls_suite(c.id).unwrap().suite()), name);
        }
        let cbc = go_cipher("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA").unwrap();
        assert!(rustls_suite(cbc.id).is_none());
        let e = check_supported(&[cbc.id], &[]).unwrap_err();
        assert!(e.contains("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), "{e}");
        assert!(go_cipher("TLS_NOT_A_CIPHER").is_none());
        assert!(go_cipher("TLS_RSA_WITH_RC4_128_SHA").unwrap().insecure);
        // TLS 1.3 names are accepted and always on.
        assert!(check_supported(&[0x1301, 0xc02f], &[Curve::X25519]).is_ok());
    }

    #[test]
    fn curves() {
        assert_eq!(Curve::parse("CurveP256"), Some(Curve::P256));
        assert_eq!(Curve::parse("P256"), None);
        assert!(check_supported(&[], &[Curve::P521])
            .unwrap_err()
            .contains("CurveP521"));
    }

    #[test]
    fn version_names_like_go() {
        assert_eq!(version_name(0x0301), "1.0");
        assert_eq!(version_name(0x0304), "1.3");
        assert_eq!(version_name(0x999), "Unknown [0x999]");
        assert_eq!(cipher_name(rustls::CipherSuite::from(0x9999)), "0x9999");
        assert_eq!(
            cipher_name(rustls::CipherSuite::from(0x0005)),
            "TLS_RSA_WITH_RC4_128_SHA"
        );
    }

    #[test]
    fn zero_timeouts_take_go_defaults() {
        let mut o = crate::config::Options {
            auth_timeout: Duration::ZERO,
            tls_timeout: Duration::ZERO,
            ..crate::config::Options::default()
        };
        baseline_timeouts(&mut o);
        assert_eq!(o.tls_timeout, DEFAULT_TLS_TIMEOUT);
        assert_eq!(o.auth_timeout, Duration::from_secs(2));
        let mut o = crate::config::Options {
            auth_timeout: Duration::from_millis(1),
            ..crate::config::Options::default()
        };
        baseline_timeouts(&mut o);
        assert_eq!(o.auth_timeout, Duration::from_millis(1));
    }

    #[test]
    fn versions() {
        assert_eq!(TlsVersion::parse("1.3"), Ok(TlsVersion::Tls13));
        assert_eq!(
            TlsVersion::parse("1.4"),
            Err("unknown version: 1.4".to_string())
        );
        assert_eq!(TlsVersion::Tls11.go_name(), "TLS 1.1");
    }

    #[test]
    fn missing_files_are_go_errors() {
        let tc = TlsConfigOpts {
            cert_file: "/nonexistent/cert.pem".into(),
            ..TlsConfigOpts::default()
        };
        assert_eq!(
            gen_tls_config(&tc).unwrap_err(),
            "missing 'key_file' in TLS configuration"
        );
        let tc = TlsConfigOpts {
            cert_file: "/nonexistent/cert.pem".into(),
            key_file: "/nonexistent/key.pem".into(),
            ..TlsConfigOpts::default()
        };
        let e = gen_tls_config(&tc).unwrap_err();
        assert!(
            e.starts_with("error parsing X509 certificate/key pair: open /nonexistent/cert.pem"),
            "{e}"
        );
    }
}
