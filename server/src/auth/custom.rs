//! Authentication by the embedding program (Go's `CustomClientAuthentication`): a program
//! that runs natsd as a library decides itself who may connect, in place of the
//! configured users, tokens and nkeys.

use super::{AuthFailure, Authenticated, ClientPerms, User};
use crate::client::connect::ConnectInfo;
use crate::protocol::parser::ConnKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// What an authenticator learns about a connecting client (Go's `ClientAuthentication`).
#[derive(Debug)]
pub struct ClientAuthRequest<'a> {
    /// The client's CONNECT options.
    pub connect: &'a ConnectInfo,
    /// The nonce the server's INFO carried (with `always_enable_nonce` or nkey users).
    pub nonce: Option<&'a str>,
    /// Where the client connects from.
    pub remote_addr: Option<SocketAddr>,
    /// What the TLS handshake established, on a TLS connection.
    pub tls: Option<&'a crate::tls::TlsState>,
    pub kind: ConnKind,
    /// The connection's id (`cid`).
    pub cid: u64,
}

/// An authenticator's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomAuthDecision {
    /// Refused: the client gets `Authorization Violation`.
    Deny,
    /// Accepted without permissions, in the global account.
    Allow,
    /// Accepted as `user` (Go's `RegisterUser`): its permissions and account apply, its
    /// name shows in events and monitoring, and with a deadline the connection is closed
    /// then with `User Authentication Expired`.
    AllowAs {
        user: Box<User>,
        deadline: Option<SystemTime>,
    },
}

/// Decides who may connect; set as `Options::custom_client_authentication`.
pub trait ClientAuthenticator: Send + Sync {
    fn check(&self, client: &ClientAuthRequest<'_>) -> CustomAuthDecision;
}

/// The embedding program's authenticator, as options carry it. It is no configuration:
/// a reload keeps it, and options compare equal whatever it is.
#[derive(Clone)]
pub struct CustomClientAuth(pub Arc<dyn ClientAuthenticator>);

impl std::fmt::Debug for CustomClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomClientAuth")
    }
}

impl<'a> ClientAuthRequest<'a> {
    /// The request for `client`, which sent `connect`.
    pub fn new(client: &'a crate::client::Client, connect: &'a ConnectInfo) -> Self {
        let remote_addr = client
            .remote_host()
            .parse()
            .ok()
            .map(|ip| SocketAddr::new(ip, client.remote_port()));
        ClientAuthRequest {
            connect,
            nonce: client.auth.nonce.get().map(String::as_str),
            remote_addr,
            tls: client.tls.get(),
            kind: client.kind(),
            cid: client.cid,
        }
    }
}

/// A client accepted by the authenticator, and when its authentication expires.
#[derive(Debug)]
pub struct CustomAccepted {
    pub authenticated: Authenticated,
    pub deadline: Option<SystemTime>,
}

/// Runs the authenticator for one client.
pub fn check(
    auth: &CustomClientAuth,
    request: &ClientAuthRequest<'_>,
) -> Result<CustomAccepted, AuthFailure> {
    let accepted = |perms, user_label, account: &str, deadline| CustomAccepted {
        authenticated: Authenticated {
            perms,
            user_label,
            account: account.to_string(),
            proxy_key: None,
        },
        deadline,
    };
    match auth.0.check(request) {
        CustomAuthDecision::Deny => Err(AuthFailure::Violation),
        CustomAuthDecision::Allow => Ok(accepted(None, None, "", None)),
        CustomAuthDecision::AllowAs { user, deadline } => {
            let perms = user
                .permissions
                .as_ref()
                .map(|p| Arc::new(ClientPerms::new(&p.clone().normalized())));
            let label = (!user.username.is_empty()).then(|| format!("user:{}", user.username));
            Ok(accepted(perms, label, &user.account, deadline))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;
    use crate::auth::{Permissions, SubjectPermission};

    struct ByName;

    impl ClientAuthenticator for ByName {
        fn check(&self, c: &ClientAuthRequest<'_>) -> CustomAuthDecision {
            match c.connect.user.as_str() {
                "plain" => CustomAuthDecision::Allow,
                "limited" => CustomAuthDecision::AllowAs {
                    user: Box::new(User {
                        username: "limited".into(),
                        account: "A".into(),
                        permissions: Some(Permissions {
                            publish: Some(SubjectPermission {
                                allow: Some(vec!["ok".into()]),
                                deny: None,
                            }),
                            ..Permissions::default()
                        }),
                        ..User::default()
                    }),
                    deadline: None,
                },
                _ => CustomAuthDecision::Deny,
            }
        }
    }

    fn run(user: &str) -> Result<CustomAccepted, AuthFailure> {
        let connect = ConnectInfo {
            user: user.into(),
            ..ConnectInfo::default()
        };
        let req = ClientAuthRequest {
            connect: &connect,
            nonce: None,
            remote_addr: None,
            tls: None,
            kind: ConnKind::Client,
            cid: 1,
        };
        check(&CustomClientAuth(Arc::new(ByName)), &req)
    }

    #[test]
    fn decisions_become_authentications() {
        assert_eq!(run("nobody").unwrap_err(), AuthFailure::Violation);
        let plain = run("plain").unwrap().authenticated;
        assert!(plain.perms.is_none() && plain.user_label.is_none());
        assert_eq!(plain.account, "");
        let limited = run("limited").unwrap().authenticated;
        assert_eq!(limited.user_label.as_deref(), Some("user:limited"));
        assert_eq!(limited.account, "A");
        let perms = limited.perms.unwrap();
        let now = std::time::Instant::now();
        assert!(perms.pub_allowed("ok", now));
        assert!(!perms.pub_allowed("other", now));
    }
}
