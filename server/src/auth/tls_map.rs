//! `verify_and_map`: the client's certificate names the user it connects as (the
//! reference's `checkClientTLSCertSubject` with the users table). Candidates are tried in
//! Go's order: e-mail addresses, DNS names and URIs of the alternative names, then the
//! subject as a distinguished name (exact order, then any order of its RDNs), then Go's
//! string of the subject with the domain components appended, then that string alone.

use super::{AuthFailure, Authenticated, ConnContext, User};
use crate::client::connect::ConnectInfo;
use crate::config::Options;
use crate::tls::x509::{CertInfo, Dn};

/// A user found from a certificate, and how (for the debug log, Go's wording).
#[derive(Debug)]
pub struct CertMatch<'a> {
    pub user: &'a User,
    pub how: String,
}

fn by_name<'a>(users: &'a [User], name: &str) -> Option<&'a User> {
    users.iter().find(|u| u.username == name)
}

/// The user the certificate maps to, if any.
pub fn map_certificate<'a>(users: &'a [User], cert: &CertInfo) -> Option<CertMatch<'a>> {
    let found = |user: &'a User, what: &str, m: &str| CertMatch {
        user,
        how: format!("Using {what} for auth [{m:?}]"),
    };
    let subject = cert.go_subject_string();
    if cert.emails.is_empty()
        && cert.dns_names.is_empty()
        && cert.uris.is_empty()
        && !cert.has_subject()
    {
        return None;
    }
    for e in &cert.emails {
        if let Some(u) = by_name(users, e) {
            return Some(found(u, "email found in cert", e));
        }
    }
    for d in &cert.dns_names {
        if let Some(u) = by_name(users, d) {
            return Some(found(u, "SAN found in cert", d));
        }
    }
    for uri in &cert.uris {
        if let Some(u) = by_name(users, uri) {
            return Some(found(u, "URI found in cert", uri));
        }
    }
    if let Some(dn) = cert.ldap_dn() {
        let parsed: Vec<(&User, Dn)> = users
            .iter()
            .filter_map(|u| Dn::parse(&u.username).ok().map(|d| (u, d)))
            .collect();
        let hit = parsed
            .iter()
            .find(|(_, d)| d.equal(&dn))
            .or_else(|| parsed.iter().find(|(_, d)| d.rdns_match(&dn)));
        if let Some((u, _)) = hit {
            return Some(found(u, "DistinguishedNameMatch", &u.username));
        }
    }
    let dcs = cert.domain_components();
    if !dcs.is_empty() {
        let with_dcs = format!("{subject},{dcs}");
        if let Some(u) = by_name(users, &with_dcs) {
            return Some(found(u, "RDNSequence", &with_dcs));
        }
    }
    by_name(users, &subject).map(|u| found(u, "certificate subject", &subject))
}

/// Whether the certificate decides who the client is: `verify_and_map` with users
/// configured, unless the client authenticates with an nkey (checked first, as in Go).
pub fn maps_user(o: &Options, c: &ConnectInfo) -> bool {
    o.tls_map && !o.users.is_empty() && (o.nkeys.is_empty() || c.nkey.is_empty())
}

/// Authenticates a client by its certificate (see [`maps_user`]). A mapped user with a
/// password still needs it. `log` receives Go's debug and warning lines.
pub fn authenticate_by_certificate(
    o: &Options,
    c: &ConnectInfo,
    cert: Option<&CertInfo>,
    log: impl FnMut(CertLog),
) -> Option<Authenticated> {
    check_certificate(o, c, cert, &ConnContext::default(), log).ok()
}

/// [`authenticate_by_certificate`] for a connection of a given kind, telling why it
/// failed. Users the connection's type is not allowed for are not candidates.
pub fn check_certificate(
    o: &Options,
    c: &ConnectInfo,
    cert: Option<&CertInfo>,
    ctx: &ConnContext<'_>,
    mut log: impl FnMut(CertLog),
) -> Result<Authenticated, AuthFailure> {
    let Some(cert) = cert else {
        log(CertLog::Debug(
            "User required in cert, no peer certificates found".into(),
        ));
        return Err(AuthFailure::Violation);
    };
    let candidates: Vec<User> = o
        .users
        .iter()
        .filter(|u| super::conn_types::allowed(&u.allowed_connection_types, ctx.conn_type))
        .cloned()
        .collect();
    let Some(m) = map_certificate(&candidates, cert) else {
        log(CertLog::Debug(format!(
            "User in cert [{:?}], not found",
            cert.go_subject_string()
        )));
        return Err(AuthFailure::Violation);
    };
    log(CertLog::Debug(m.how));
    if !c.user.is_empty() {
        log(CertLog::Warn(format!(
            "User {:?} found in connect proto, but user required from cert",
            c.user
        )));
    }
    // From here on the client is that user, password (if the user has one) included.
    let as_user = ConnectInfo {
        user: m.user.username.clone(),
        nkey: String::new(),
        ..c.clone()
    };
    super::check_client(o, &as_user, ctx)
}

/// A log line of certificate mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertLog {
    Debug(String),
    Warn(String),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tls::x509::Attribute;

    fn user(name: &str) -> User {
        User {
            username: name.into(),
            ..User::default()
        }
    }

    fn attr(oid: &str, v: &str) -> Vec<Attribute> {
        vec![Attribute {
            oid: oid.into(),
            value: Some(v.into()),
            raw: Vec::new(),
        }]
    }

    #[test]
    fn certificate_users_are_not_plaintext_passwords() {
        let mut o = Options {
            users: vec![user("CN=box")],
            ..Options::default()
        };
        // Without mapping, a user without password is a plaintext (empty) one, as Go.
        assert!(super::super::has_plaintext_passwords(&o));
        o.tls_map = true;
        assert!(!super::super::has_plaintext_passwords(&o));
        o.users.push(User {
            username: "left".into(),
            password: "over".into(),
            ..User::default()
        });
        assert!(super::super::has_plaintext_passwords(&o));
    }

    #[test]
    fn order_of_candidates() {
        let cert = CertInfo {
            subject: vec![
                attr("0.9.2342.19200300.100.1.25", "org"),
                attr("2.5.4.11", "NATS"),
                attr("2.5.4.3", "box"),
            ],
            emails: vec!["a@b.c".into()],
            dns_names: vec!["box.b.c".into()],
            ..CertInfo::default()
        };
        let users = vec![
            user("CN=box,OU=NATS"),
            user("CN=box,OU=NATS,DC=org"),
            user("box.b.c"),
            user("a@b.c"),
        ];
        assert_eq!(
            map_certificate(&users, &cert).unwrap().user.username,
            "a@b.c"
        );
        assert_eq!(
            map_certificate(&users[..3], &cert).unwrap().user.username,
            "box.b.c"
        );
        // The DN (with its DC) matches before the subject strings.
        let m = map_certificate(&users[..2], &cert).unwrap();
        assert_eq!(m.user.username, "CN=box,OU=NATS,DC=org");
        assert!(m.how.starts_with("Using DistinguishedNameMatch"));
        let m = map_certificate(&users[..1], &cert).unwrap();
        assert_eq!(m.user.username, "CN=box,OU=NATS");
        assert!(m.how.starts_with("Using certificate subject"));
        assert!(map_certificate(&[user("CN=other")], &cert).is_none());
    }
}
