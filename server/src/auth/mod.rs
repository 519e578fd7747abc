//! Client authentication and authorization: who may connect (token, user/password, users,
//! nkey users with a signed nonce) and what each may publish and subscribe to.
//!
//! Pure logic: the connection layer passes the options, the client's CONNECT and its nonce,
//! and applies the outcome (close with `Authorization Violation`, or keep the permissions).

pub mod conf;
mod perms;
pub mod tls_map;

pub use perms::{split_subject_queue, ClientPerms};

use crate::client::connect::ConnectInfo;
use crate::config::Options;
use base64::Engine;
use std::sync::Arc;
use std::time::Duration;

/// Replies a responder may send per request when `allow_responses` has no `max`.
pub const DEFAULT_ALLOW_RESPONSE_MAX_MSGS: i64 = 1;
/// How long a reply permission lasts when `allow_responses` has no `expires`.
pub const DEFAULT_ALLOW_RESPONSE_EXPIRATION: Duration = Duration::from_secs(2 * 60);

/// Allow and deny lists for one direction. `None` means "no list": everything is allowed
/// (allow) or nothing is denied (deny); an empty allow list allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectPermission {
    pub allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
}

/// `allow_responses`: a client may publish to the reply subjects of messages it received,
/// up to `max_msgs` times each (negative: unlimited) within `expires` (`None`: forever).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePermission {
    pub max_msgs: i64,
    pub expires: Option<Duration>,
}

impl Default for ResponsePermission {
    fn default() -> Self {
        ResponsePermission {
            max_msgs: DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
            expires: Some(DEFAULT_ALLOW_RESPONSE_EXPIRATION),
        }
    }
}

/// A user's permissions (Go's `Permissions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    pub publish: Option<SubjectPermission>,
    pub subscribe: Option<SubjectPermission>,
    pub response: Option<ResponsePermission>,
}

impl Permissions {
    /// With response permissions, publishing is limited to replies unless allowed
    /// explicitly: the blanket allow is turned off.
    pub fn normalized(mut self) -> Permissions {
        if self.response.is_some() {
            let p = self.publish.get_or_insert_with(SubjectPermission::default);
            if p.allow.is_none() {
                p.allow = Some(Vec::new());
            }
        }
        self
    }
}

/// A user/password entry of `authorization { users [...] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub username: String,
    pub password: String,
    pub permissions: Option<Permissions>,
    /// The account the user belongs to; empty for the global account.
    pub account: String,
}

/// An nkey entry of `authorization { users [...] }`: the user proves ownership of the key
/// by signing the nonce of the server's INFO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NkeyUser {
    pub nkey: String,
    pub permissions: Option<Permissions>,
    /// The account the user belongs to; empty for the global account.
    pub account: String,
}

/// Whether clients must authenticate with these options.
pub fn auth_required(o: &Options) -> bool {
    !o.authorization.is_empty()
        || !o.username.is_empty()
        || !o.users.is_empty()
        || !o.nkeys.is_empty()
}

/// Whether the INFO carries a nonce for clients to sign (nkey users are configured, or
/// the option asks for it always).
pub fn nonce_required(o: &Options) -> bool {
    o.always_enable_nonce || !o.nkeys.is_empty()
}

/// A fresh nonce for one connection's INFO: 11 random bytes in raw URL-safe base64, as Go.
pub fn new_nonce() -> String {
    let mut raw = [0u8; 11];
    rand::Rng::fill(&mut rand::thread_rng(), &mut raw[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The authentication state a connection shares with other tasks: the nonce its INFO
/// carried and, once authenticated, its permissions (publishers check a subscriber's deny
/// list and reply permissions at delivery).
#[derive(Debug, Default)]
pub struct ClientAuth {
    pub nonce: std::sync::OnceLock<String>,
    /// Set once the client has permissions: deliveries to clients without any (most)
    /// then cost one atomic load, not a lock.
    has_perms: std::sync::atomic::AtomicBool,
    /// The permissions; a reload may replace them.
    perms: parking_lot::RwLock<Option<Arc<ClientPerms>>>,
}

impl ClientAuth {
    pub fn perms(&self) -> Option<Arc<ClientPerms>> {
        if !self.has_perms.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        self.perms.read().clone()
    }

    /// Gives the client `perms` (or none), at authentication or on a reload.
    pub fn set_perms(&self, perms: Option<Arc<ClientPerms>>) {
        let has = perms.is_some();
        *self.perms.write() = perms;
        self.has_perms
            .store(has, std::sync::atomic::Ordering::Release);
    }
}

/// A successful authentication.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The permissions the client runs with, when it has any.
    pub perms: Option<Arc<ClientPerms>>,
    /// Who the client is, for log lines (Go's `getAuthUserLabel`: `user:x`, `nkey:x`,
    /// `token`); `None` without credentials.
    pub user_label: Option<String>,
    /// The account the user belongs to; empty for the global account.
    pub account: String,
}

/// Go's `isBcrypt`: a stored password or token that is a bcrypt hash.
pub fn is_bcrypt(s: &str) -> bool {
    let b = s.as_bytes();
    // `$2[abxy]$NN$...`
    b.len() >= 7
        && b[0] == b'$'
        && b[1] == b'2'
        && matches!(b[2], b'a' | b'b' | b'x' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
}

/// Compares a configured password (plain or bcrypt hash) with what the client sent; the
/// plain comparison takes the same time wherever the first difference is.
pub fn compare_passwords(server: &str, client: &str) -> bool {
    if is_bcrypt(server) {
        return bcrypt::verify(client, server).unwrap_or(false);
    }
    let (a, b) = (server.as_bytes(), client.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a nonce signature: `sig` is base64 (URL-safe raw, or standard) of an ed25519
/// signature of `nonce` by the public nkey `nkey`.
pub fn verify_nonce_signature(nkey: &str, nonce: &[u8], sig: &str) -> bool {
    let Ok(kp) = nkeys::KeyPair::from_public_key(nkey) else {
        return false;
    };
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(sig));
    match sig {
        Ok(sig) => kp.verify(nonce, &sig).is_ok(),
        Err(_) => false,
    }
}

/// The label and permissions of the user a client authenticates as when it sends no
/// credentials (`no_auth_user`, a user name or an nkey); `None` when that does not apply.
fn no_auth_user<'a>(
    o: &'a Options,
    c: &ConnectInfo,
) -> Option<(String, &'a Option<Permissions>, &'a str)> {
    if o.no_auth_user.is_empty()
        || !c.user.is_empty()
        || !c.nkey.is_empty()
        || !c.auth_token.is_empty()
        || !c.jwt.is_empty()
    {
        return None;
    }
    let name = &o.no_auth_user;
    o.users
        .iter()
        .find(|u| &u.username == name)
        .map(|u| (format!("user:{name}"), &u.permissions, u.account.as_str()))
        .or_else(|| {
            o.nkeys
                .iter()
                .find(|n| &n.nkey == name)
                .map(|n| (format!("nkey:{name}"), &n.permissions, n.account.as_str()))
        })
}

/// Whether the only configured account is the system account, there only to give it
/// users, with no `authorization` block and no `no_auth_user`: Go then lets clients
/// without credentials into the global account (its `sysAccOnlyNoAuthUser`).
fn system_account_only(o: &Options) -> bool {
    let [only] = o.accounts.as_slice() else {
        return false;
    };
    let system = if o.system_account.is_empty() {
        crate::account::DEFAULT_SYSTEM_ACCOUNT
    } else {
        o.system_account.as_str()
    };
    o.no_auth_user.is_empty() && !o.auth_block_defined && only.name == system
}

/// Whether a configured password is stored in plain text (the server warns at start).
pub fn has_plaintext_passwords(o: &Options) -> bool {
    (!o.password.is_empty() && !is_bcrypt(&o.password))
        || o.users
            .iter()
            // A user without password that certificates map to is not one (Go's canTLSMap).
            .filter(|u| !(u.password.is_empty() && o.tls_map))
            .any(|u| !is_bcrypt(&u.password))
}

/// Go's `validateNoAuthUser`: `no_auth_user` must name a configured user or nkey.
pub fn validate_no_auth_user(o: &Options) -> Result<(), String> {
    let name = &o.no_auth_user;
    if name.is_empty() {
        return Ok(());
    }
    if o.users.is_empty() && o.nkeys.is_empty() {
        return Err(format!(
            "no_auth_user: \"{name}\" present, but users/nkeys are not defined"
        ));
    }
    if o.users.iter().any(|u| &u.username == name) || o.nkeys.iter().any(|n| &n.nkey == name) {
        return Ok(());
    }
    Err(format!(
        "no_auth_user: \"{name}\" not present as user or nkey in authorization block or account configuration"
    ))
}

/// The permissions of a user: its own, else `default_permissions`.
fn perms_of(o: &Options, own: &Option<Permissions>) -> Option<Arc<ClientPerms>> {
    own.as_ref()
        .or(o.default_permissions.as_ref())
        .map(|p| Arc::new(ClientPerms::new(&p.clone().normalized())))
}

/// Decides whether a client may connect (Go's `processClientOrLeafAuthentication` for the
/// configured users, tokens and nkeys). `nonce` is what the INFO sent to this client.
pub fn authenticate(o: &Options, c: &ConnectInfo, nonce: Option<&str>) -> Option<Authenticated> {
    // Asking for an account in CONNECT (once for dynamic sandboxes) is refused as Go
    // refuses it: an authorization violation even with good credentials.
    if c.new_account || !c.account.is_empty() {
        return None;
    }
    let ok = |perms, label: Option<String>| {
        Some(Authenticated {
            perms,
            user_label: label,
            account: String::new(),
        })
    };
    let ok_in = |perms, label: String, account: &str| {
        Some(Authenticated {
            perms,
            user_label: Some(label),
            account: account.to_string(),
        })
    };
    if !auth_required(o) {
        return ok(None, None);
    }
    if !o.nkeys.is_empty() || !o.users.is_empty() {
        if let Some((label, p, account)) = no_auth_user(o, c) {
            return ok_in(perms_of(o, p), label, account);
        }
        if system_account_only(o)
            && c.user.is_empty()
            && c.pass.is_empty()
            && c.auth_token.is_empty()
            && c.nkey.is_empty()
        {
            return ok(None, None);
        }
        if !c.nkey.is_empty() {
            let user = o.nkeys.iter().find(|n| n.nkey == c.nkey)?;
            let nonce = nonce?;
            if c.sig.is_empty() || !verify_nonce_signature(&c.nkey, nonce.as_bytes(), &c.sig) {
                return None;
            }
            return ok_in(
                perms_of(o, &user.permissions),
                format!("nkey:{}", c.nkey),
                &user.account,
            );
        }
        if !c.user.is_empty() {
            let user = o.users.iter().find(|u| u.username == c.user)?;
            if !compare_passwords(&user.password, &c.pass) {
                return None;
            }
            return ok_in(
                perms_of(o, &user.permissions),
                format!("user:{}", c.user),
                &user.account,
            );
        }
        return None;
    }
    if !o.authorization.is_empty() {
        if !compare_passwords(&o.authorization, &c.auth_token) {
            return None;
        }
        return ok(None, Some("token".to_string()));
    }
    if !o.username.is_empty() {
        if o.username != c.user || !compare_passwords(&o.password, &c.pass) {
            return None;
        }
        return ok(None, Some(format!("user:{}", c.user)));
    }
    None
}

/// How the log line of a failed authentication names the client (Go's `getAuthUser`).
pub fn auth_user_label(c: &ConnectInfo) -> Option<String> {
    let mut out = String::new();
    if !c.nkey.is_empty() {
        out.push_str("Nkey ");
        crate::protocol::parser::go_quote_into(&mut out, c.nkey.as_bytes());
    } else if !c.user.is_empty() {
        out.push_str("User ");
        crate::protocol::parser::go_quote_into(&mut out, c.user.as_bytes());
    } else if !c.auth_token.is_empty() {
        out.push_str("Token \"[REDACTED]\"");
    } else {
        return None;
    }
    Some(out)
}

/// How log lines name the client's user, `User "N/A"` when it gave none (Go's
/// `getAuthUser`).
pub fn auth_user(c: &ConnectInfo) -> String {
    auth_user_label(c).unwrap_or_else(|| "User \"N/A\"".to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
