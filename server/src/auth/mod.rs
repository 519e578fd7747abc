//! Client authentication and authorization: who may connect (token, user/password, users,
//! nkey users with a signed nonce) and what each may publish and subscribe to.
//!
//! Pure logic: the connection layer passes the options, the client's CONNECT and its nonce,
//! and applies the outcome (close with `Authorization Violation`, or keep the permissions).

pub mod conf;
pub mod conn_types;
pub mod custom;
mod perms;
pub mod proxy;
pub mod tls_map;

pub use conn_types::ConnectionType;
pub use perms::{split_subject_queue, ClientPerms};

use crate::client::connect::ConnectInfo;
use crate::config::Options;
use base64::Engine;
use std::collections::BTreeSet;
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
    /// `allowed_connection_types`: the kinds of connection the user may come over (Go's
    /// names, upper case once the server validated them); empty allows all.
    pub allowed_connection_types: BTreeSet<String>,
    /// `proxy_required`: the user may only connect through a trusted proxy.
    pub proxy_required: bool,
}

/// An nkey entry of `authorization { users [...] }`: the user proves ownership of the key
/// by signing the nonce of the server's INFO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NkeyUser {
    pub nkey: String,
    pub permissions: Option<Permissions>,
    /// The account the user belongs to; empty for the global account.
    pub account: String,
    /// `allowed_connection_types`, as for [`User`].
    pub allowed_connection_types: BTreeSet<String>,
    /// `proxy_required`, as for [`User`].
    pub proxy_required: bool,
}

/// `authorization { auth_callout }`: an external service decides who may connect (Go's
/// `AuthCallout`). Parsed and checked; natsd does not call out yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthCallout {
    /// The account public key that signs the service's responses.
    pub issuer: String,
    /// The account the service's users are in (`$G` when not given).
    pub account: String,
    /// Users that bypass the callout (the service's own).
    pub auth_users: Vec<String>,
    /// Public curve key to encrypt requests with, if any.
    pub xkey: String,
    /// The accounts the callout may place users in; empty means any.
    pub allowed_accounts: Vec<String>,
}

/// Whether clients must authenticate with these options.
pub fn auth_required(o: &Options) -> bool {
    o.custom_client_authentication.is_some()
        || !o.authorization.is_empty()
        || !o.username.is_empty()
        || !o.users.is_empty()
        || !o.nkeys.is_empty()
}

/// Whether the INFO carries a nonce for clients to sign (nkey users are configured, or
/// the option asks for it always).
pub fn nonce_required(o: &Options) -> bool {
    o.always_enable_nonce || !o.nkeys.is_empty() || proxy::has_trusted(o)
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
    /// How the client reached the server; unset means the client listener.
    pub conn_type: std::sync::OnceLock<ConnectionType>,
    /// The trusted proxy the client authenticated through, if any (a reload that stops
    /// trusting it closes the client).
    pub proxy_key: parking_lot::Mutex<Option<String>>,
}

impl ClientAuth {
    pub fn perms(&self) -> Option<Arc<ClientPerms>> {
        if !self.has_perms.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        self.perms.read().clone()
    }

    /// How the client reached the server.
    pub fn connection_type(&self) -> ConnectionType {
        self.conn_type.get().copied().unwrap_or_default()
    }

    /// What [`check_client`] needs to know of this connection.
    pub fn context(&self) -> ConnContext<'_> {
        ConnContext {
            nonce: self.nonce.get().map(String::as_str),
            conn_type: self.connection_type(),
        }
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
    /// The key of the trusted proxy the client came through, if it did.
    pub proxy_key: Option<String>,
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

/// The user a client without credentials authenticates as (`no_auth_user`, a user name
/// or an nkey); `None` when that does not apply.
fn no_auth_user<'a>(o: &'a Options, c: &ConnectInfo) -> Option<Found<'a>> {
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
        .map(Found::User)
        .or_else(|| o.nkeys.iter().find(|n| &n.nkey == name).map(Found::Nkey))
}

/// A configured user a client names.
#[derive(Clone, Copy)]
enum Found<'a> {
    User(&'a User),
    Nkey(&'a NkeyUser),
}

impl<'a> Found<'a> {
    fn label(self) -> String {
        match self {
            Found::User(u) => format!("user:{}", u.username),
            Found::Nkey(n) => format!("nkey:{}", n.nkey),
        }
    }
    fn permissions(self) -> &'a Option<Permissions> {
        match self {
            Found::User(u) => &u.permissions,
            Found::Nkey(n) => &n.permissions,
        }
    }
    fn account(self) -> &'a str {
        match self {
            Found::User(u) => &u.account,
            Found::Nkey(n) => &n.account,
        }
    }
    fn allowed_connection_types(self) -> &'a BTreeSet<String> {
        match self {
            Found::User(u) => &u.allowed_connection_types,
            Found::Nkey(n) => &n.allowed_connection_types,
        }
    }
    fn proxy_required(self) -> bool {
        match self {
            Found::User(u) => u.proxy_required,
            Found::Nkey(n) => n.proxy_required,
        }
    }
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

/// Go's `validateAuth` and `validateProxies` for what natsd has: the users' connection
/// types, the trusted proxy keys, and `no_auth_user`.
pub fn validate_auth(o: &Options) -> Result<(), String> {
    if o.auth_callout.is_some() {
        return Err("authorization callouts (auth_callout) are not supported yet".into());
    }
    if !o.trusted_keys.is_empty() {
        return Err("operator mode (trusted keys) is not supported yet".into());
    }
    for set in o
        .users
        .iter()
        .map(|u| &u.allowed_connection_types)
        .chain(o.nkeys.iter().map(|n| &n.allowed_connection_types))
    {
        conn_types::validate_and_normalize(&mut set.clone())?;
    }
    proxy::validate(o)?;
    validate_no_auth_user(o)
}

/// Puts every user's connection types in upper case (after [`validate_auth`]), as Go
/// rewrites them when the server starts.
pub fn normalize_connection_types(o: &mut Options) {
    for set in o
        .users
        .iter_mut()
        .map(|u| &mut u.allowed_connection_types)
        .chain(o.nkeys.iter_mut().map(|n| &mut n.allowed_connection_types))
    {
        let _ = conn_types::validate_and_normalize(set);
    }
}

/// The permissions of a user: its own, else `default_permissions`.
fn perms_of(o: &Options, own: &Option<Permissions>) -> Option<Arc<ClientPerms>> {
    own.as_ref()
        .or(o.default_permissions.as_ref())
        .map(|p| Arc::new(ClientPerms::new(&p.clone().normalized())))
}

/// What the server knows of a connection besides its CONNECT.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnContext<'a> {
    /// The nonce the connection's INFO carried.
    pub nonce: Option<&'a str>,
    /// How the client reached the server.
    pub conn_type: ConnectionType,
}

/// Why a client failed to authenticate (Go's auth errors); each closes the connection
/// with `Authorization Violation` but is recorded with its own reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Bad or missing credentials.
    Violation,
    /// A proxy signature that no trusted proxy key verifies.
    ProxyNotTrusted,
    /// The user may only connect through a trusted proxy.
    ProxyRequired,
}

impl AuthFailure {
    /// The reason the connection is closed with.
    pub fn closed_state(self) -> crate::closed::ClosedState {
        use crate::closed::ClosedState;
        match self {
            AuthFailure::Violation => ClosedState::AuthenticationViolation,
            AuthFailure::ProxyNotTrusted => ClosedState::ProxyNotTrusted,
            AuthFailure::ProxyRequired => ClosedState::ProxyRequired,
        }
    }

    /// The debug line Go logs for it, if any.
    pub fn debug_text(self) -> Option<&'static str> {
        match self {
            AuthFailure::Violation => None,
            AuthFailure::ProxyNotTrusted => Some("proxy is not trusted"),
            AuthFailure::ProxyRequired => Some("proxy connection required"),
        }
    }
}

/// Decides whether a client may connect (Go's `processClientOrLeafAuthentication` for the
/// configured users, tokens and nkeys). `nonce` is what the INFO sent to this client.
pub fn authenticate(o: &Options, c: &ConnectInfo, nonce: Option<&str>) -> Option<Authenticated> {
    let ctx = ConnContext {
        nonce,
        ..ConnContext::default()
    };
    check_client(o, c, &ctx).ok()
}

/// [`authenticate`] for a connection of a given kind, telling why it failed.
pub fn check_client(
    o: &Options,
    c: &ConnectInfo,
    ctx: &ConnContext<'_>,
) -> Result<Authenticated, AuthFailure> {
    // Asking for an account in CONNECT (once for dynamic sandboxes) is refused as Go
    // refuses it: an authorization violation even with good credentials.
    if c.new_account || !c.account.is_empty() {
        return Err(AuthFailure::Violation);
    }
    let proxy = proxy::check(o, &c.proxy_sig, ctx.nonce);
    if proxy == proxy::Check::NotTrusted {
        return Err(AuthFailure::ProxyNotTrusted);
    }
    let proxy_key = match &proxy {
        proxy::Check::Trusted(k) => Some(k.clone()),
        _ => None,
    };
    let through_proxy = proxy_key.is_some();
    let ok = |perms, label: Option<String>, account: &str| {
        Ok(Authenticated {
            perms,
            user_label: label,
            account: account.to_string(),
            proxy_key: proxy_key.clone(),
        })
    };
    if !auth_required(o) {
        return ok(None, None, "");
    }
    if !o.nkeys.is_empty() || !o.users.is_empty() {
        let found = if let Some(f) = no_auth_user(o, c) {
            Some((f, true))
        } else if system_account_only(o)
            && c.user.is_empty()
            && c.pass.is_empty()
            && c.auth_token.is_empty()
            && c.nkey.is_empty()
        {
            return ok(None, None, "");
        } else if !c.nkey.is_empty() {
            let n = o
                .nkeys
                .iter()
                .find(|n| n.nkey == c.nkey)
                .ok_or(AuthFailure::Violation)?;
            Some((Found::Nkey(n), false))
        } else if !c.user.is_empty() {
            let u = o
                .users
                .iter()
                .find(|u| u.username == c.user)
                .ok_or(AuthFailure::Violation)?;
            Some((Found::User(u), false))
        } else {
            None
        };
        let Some((found, as_no_auth_user)) = found else {
            return Err(AuthFailure::Violation);
        };
        if !conn_types::allowed(found.allowed_connection_types(), ctx.conn_type) {
            return Err(AuthFailure::Violation);
        }
        if found.proxy_required() && !through_proxy {
            return Err(AuthFailure::ProxyRequired);
        }
        if !as_no_auth_user {
            let verified = match found {
                Found::Nkey(_) => ctx.nonce.is_some_and(|nonce| {
                    !c.sig.is_empty() && verify_nonce_signature(&c.nkey, nonce.as_bytes(), &c.sig)
                }),
                Found::User(u) => compare_passwords(&u.password, &c.pass),
            };
            if !verified {
                return Err(AuthFailure::Violation);
            }
        }
        return ok(
            perms_of(o, found.permissions()),
            Some(found.label()),
            found.account(),
        );
    }
    if o.proxy_required && !through_proxy {
        return Err(AuthFailure::ProxyRequired);
    }
    if !o.authorization.is_empty() {
        if !compare_passwords(&o.authorization, &c.auth_token) {
            return Err(AuthFailure::Violation);
        }
        return ok(None, Some("token".to_string()), "");
    }
    if !o.username.is_empty() {
        if o.username != c.user || !compare_passwords(&o.password, &c.pass) {
            return Err(AuthFailure::Violation);
        }
        return ok(None, Some(format!("user:{}", c.user)), "");
    }
    Err(AuthFailure::Violation)
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
