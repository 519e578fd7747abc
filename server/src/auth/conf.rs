//! Parts of the `authorization { ... }` block of a configuration file: the users array and
//! permissions (nats-server's `parseUsers`, `parseUserPermissions`), with their error texts.

use super::{NkeyUser, Permissions, ResponsePermission, SubjectPermission, User};
use crate::config::conf::duration::{parse_duration, to_std};
use crate::config::conf::{Kind, Value};
use crate::config::file::{ConfigIssue, IssueKind};
use std::collections::BTreeSet;

fn err(v: &Value, reason: impl Into<String>) -> ConfigIssue {
    ConfigIssue {
        pos: Some(v.pos.clone()),
        kind: IssueKind::Error(reason.into()),
    }
}

fn string_of(v: &Value) -> Result<String, ConfigIssue> {
    match &v.kind {
        Kind::String(s) => Ok(s.clone()),
        // Go stores numbers given as passwords or users as their text.
        Kind::Integer(i) => Ok(i.to_string()),
        _ => Err(err(
            v,
            format!(
                "interface conversion: interface {{}} is {}, not string",
                v.go_type()
            ),
        )),
    }
}

/// A boolean field (Go asserts the type and fails the same way).
pub fn bool_of(v: &Value) -> Result<bool, ConfigIssue> {
    match &v.kind {
        Kind::Bool(b) => Ok(*b),
        _ => Err(err(
            v,
            format!(
                "interface conversion: interface {{}} is {}, not bool",
                v.go_type()
            ),
        )),
    }
}

/// A string or an array of strings (Go's `parseStringArray`); problems are added to
/// `errors` with Go's texts, and `None` means the value was not a string or an array.
pub fn parse_string_array(
    field: &str,
    v: &Value,
    errors: &mut Vec<ConfigIssue>,
) -> Option<Vec<String>> {
    match &v.kind {
        Kind::String(s) => Some(vec![s.clone()]),
        Kind::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for i in a {
                match i.as_str() {
                    Some(s) => out.push(s.to_string()),
                    None => errors.push(err(
                        i,
                        format!(
                            "error parsing {field}: unsupported type in array {}",
                            i.go_type()
                        ),
                    )),
                }
            }
            Some(out)
        }
        _ => {
            errors.push(err(
                v,
                format!("error parsing {field}: unsupported type {}", v.go_type()),
            ));
            None
        }
    }
}

/// `allowed_connection_types` of a user (Go's `parseAllowedConnectionTypes`): unknown
/// names are an error, the known ones are kept in upper case.
fn parse_connection_types(v: &Value, errors: &mut Vec<ConfigIssue>) -> BTreeSet<String> {
    let Some(names) = parse_string_array("allowed connection types", v, errors) else {
        return BTreeSet::new();
    };
    let (set, result) = super::conn_types::convert(&names);
    if let Err(e) = result {
        errors.push(err(v, e));
    }
    set
}

/// Users and nkeys without permissions of their own get `default_permissions`.
pub fn fill_default_permissions(
    users: &mut [User],
    nkeys: &mut [NkeyUser],
    default: Option<&Permissions>,
) {
    let Some(dp) = default else { return };
    for u in users.iter_mut().filter(|u| u.permissions.is_none()) {
        u.permissions = Some(dp.clone());
    }
    for n in nkeys.iter_mut().filter(|n| n.permissions.is_none()) {
        n.permissions = Some(dp.clone());
    }
}

/// The `users` array of an `authorization` block: user/password and nkey entries.
pub fn parse_users(
    v: &Value,
    errors: &mut Vec<ConfigIssue>,
) -> Result<(Vec<NkeyUser>, Vec<User>), ConfigIssue> {
    let Some(arr) = v.as_array() else {
        return Err(err(
            v,
            format!("Expected users field to be an array, got {}", v.go_type()),
        ));
    };
    let mut nkeys = Vec::new();
    let mut users = Vec::new();
    for u in arr {
        let Some(m) = u.as_map() else {
            return Err(err(u, "Expected user entry to be a map/struct".to_string()));
        };
        let mut user = User::default();
        let mut nkey = String::new();
        let mut perms = None;
        let mut conn_types = BTreeSet::new();
        let mut proxy_required = false;
        for (k, mv) in m.iter() {
            let r = match k.to_lowercase().as_str() {
                "nkey" => string_of(mv).map(|s| nkey = s),
                "user" | "username" => string_of(mv).map(|s| user.username = s),
                "pass" | "password" => string_of(mv).map(|s| user.password = s),
                "permission" | "permissions" | "authorization" => {
                    parse_permissions(mv, errors).map(|p| perms = Some(p))
                }
                "allowed_connection_types" | "connection_types" | "clients" => {
                    conn_types = parse_connection_types(mv, errors);
                    Ok(())
                }
                "proxy_required" => bool_of(mv).map(|b| proxy_required = b),
                _ if mv.used_variable => Ok(()),
                _ => Err(ConfigIssue {
                    pos: Some(mv.pos.clone()),
                    kind: IssueKind::UnknownField(k.to_string()),
                }),
            };
            if let Err(e) = r {
                errors.push(e);
            }
        }
        if nkey.is_empty() && user.username.is_empty() {
            return Err(err(u, "User entry requires a user"));
        }
        if !nkey.is_empty() {
            if !(nkey.starts_with('U') && nkeys::KeyPair::from_public_key(&nkey).is_ok()) {
                return Err(err(u, "Not a valid public nkey for a user"));
            }
            if !user.username.is_empty() || !user.password.is_empty() {
                return Err(err(u, "Nkey users do not take usernames or passwords"));
            }
            nkeys.push(NkeyUser {
                nkey,
                permissions: perms,
                account: String::new(),
                allowed_connection_types: conn_types,
                proxy_required,
            });
        } else {
            user.permissions = perms;
            user.allowed_connection_types = conn_types;
            user.proxy_required = proxy_required;
            users.push(user);
        }
    }
    Ok((nkeys, users))
}

/// A `permissions` map: `publish`, `subscribe`, `allow_responses`.
pub fn parse_permissions(
    v: &Value,
    errors: &mut Vec<ConfigIssue>,
) -> Result<Permissions, ConfigIssue> {
    let Some(m) = v.as_map() else {
        return Err(err(
            v,
            format!(
                "Expected permissions to be a map/struct, got {}",
                v.go_type()
            ),
        ));
    };
    let mut p = Permissions::default();
    for (k, mv) in m.iter() {
        let r = match k.to_lowercase().as_str() {
            "pub" | "publish" | "import" => {
                parse_subject_permission(mv, false).map(|s| p.publish = s)
            }
            "sub" | "subscribe" | "export" => {
                parse_subject_permission(mv, true).map(|s| p.subscribe = s)
            }
            "publish_allow_responses" | "allow_responses" => match &mv.kind {
                Kind::Bool(true) => {
                    p.response = Some(ResponsePermission::default());
                    Ok(())
                }
                Kind::Bool(false) => Ok(()),
                _ => parse_allow_responses(mv).map(|r| p.response = Some(r)),
            },
            _ if mv.used_variable => Ok(()),
            _ => Err(err(
                mv,
                format!("Unknown field \"{k}\" parsing permissions"),
            )),
        };
        if let Err(e) = r {
            errors.push(e);
        }
    }
    Ok(p.normalized())
}

fn parse_allow_responses(v: &Value) -> Result<ResponsePermission, ConfigIssue> {
    let Some(m) = v.as_map() else {
        return Err(err(
            v,
            "error parsing response permissions, expected a boolean or a map",
        ));
    };
    let mut rp = ResponsePermission::default();
    for (k, mv) in m.iter() {
        match k.to_lowercase().as_str() {
            "max" | "max_msgs" | "max_messages" | "max_responses" => {
                let n = mv.as_i64().ok_or_else(|| {
                    err(
                        mv,
                        format!(
                            "interface conversion: interface {{}} is {}, not int64",
                            mv.go_type()
                        ),
                    )
                })?;
                if n != 0 {
                    rp.max_msgs = n;
                }
            }
            "expires" | "expiration" | "ttl" => {
                let s = mv
                    .as_str()
                    .ok_or_else(|| err(mv, "error parsing expires, not a duration string"))?;
                let d = parse_duration(s)
                    .map_err(|e| err(mv, format!("error parsing expires: {e}")))?;
                if d < 0 {
                    rp.expires = None;
                } else if d > 0 {
                    rp.expires = Some(to_std(d));
                }
            }
            _ => {
                return Err(err(
                    mv,
                    format!("Unknown field \"{k}\" parsing permissions"),
                ))
            }
        }
    }
    Ok(rp)
}

/// `publish`/`subscribe`: a subject, a list, or `{allow, deny}`.
fn parse_subject_permission(
    v: &Value,
    allow_queue: bool,
) -> Result<Option<SubjectPermission>, ConfigIssue> {
    if let Some(m) = v.as_map() {
        if m.is_empty() {
            return Ok(None);
        }
        let mut p = SubjectPermission::default();
        for (k, mv) in m.iter() {
            match k.to_lowercase().as_str() {
                "allow" => p.allow = Some(parse_subjects(mv, allow_queue)?),
                "deny" => p.deny = Some(parse_subjects(mv, allow_queue)?),
                _ => {
                    return Err(err(
                        mv,
                        format!(
                            "Unknown field name \"{k}\" parsing subject permissions, only 'allow' or 'deny' are permitted"
                        ),
                    ))
                }
            }
        }
        return Ok(Some(p));
    }
    Ok(Some(SubjectPermission {
        allow: Some(parse_subjects(v, allow_queue)?),
        deny: None,
    }))
}

fn parse_subjects(v: &Value, allow_queue: bool) -> Result<Vec<String>, ConfigIssue> {
    let subjects = match &v.kind {
        Kind::String(s) => vec![s.clone()],
        Kind::Array(a) => a
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| err(i, "Subject in permissions array cannot be cast to string"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => {
            return Err(err(
                v,
                format!(
                    "Expected subject permissions to be a subject, or array of subjects, got {}",
                    v.go_type()
                ),
            ))
        }
    };
    for s in &subjects {
        check_perm_subject(s, allow_queue).map_err(|e| err(v, e))?;
    }
    Ok(subjects)
}

fn check_perm_subject(s: &str, allow_queue: bool) -> Result<(), String> {
    use crate::subject::is_valid_subject;
    if is_valid_subject(s) {
        return Ok(());
    }
    let bad = || format!("subject \"{s}\" is not a valid subject");
    if !allow_queue {
        return Err(bad());
    }
    let f: Vec<&str> = s.split_whitespace().collect();
    if f.len() != 2 {
        return Err(bad());
    }
    if !is_valid_subject(f[0]) {
        return Err(format!("subject \"{}\" is not a valid subject", f[0]));
    }
    if !is_valid_subject(f[1]) {
        return Err(format!("queue \"{}\" is not a valid queue", f[1]));
    }
    Ok(())
}

/// `proxies { trusted [ {key: ...} ] }` (Go's `parseProxies`), with Go's error texts.
pub fn parse_proxies(
    v: &Value,
    errors: &mut Vec<ConfigIssue>,
) -> Result<super::proxy::ProxiesConfig, ConfigIssue> {
    let Some(m) = v.as_map() else {
        return Err(err(
            v,
            format!("expected proxies to be a map/struct, got {}", v.go_type()),
        ));
    };
    let mut proxies = super::proxy::ProxiesConfig::default();
    for (k, mv) in m.iter() {
        match k.to_lowercase().as_str() {
            "trusted" => match parse_trusted_proxies(mv, errors) {
                Ok(t) => proxies.trusted = t,
                Err(e) => errors.push(e),
            },
            _ if mv.used_variable => {}
            _ => errors.push(ConfigIssue {
                pos: Some(mv.pos.clone()),
                kind: IssueKind::UnknownField(k.to_string()),
            }),
        }
    }
    Ok(proxies)
}

fn parse_trusted_proxies(
    v: &Value,
    errors: &mut Vec<ConfigIssue>,
) -> Result<Vec<String>, ConfigIssue> {
    let Some(arr) = v.as_array() else {
        return Err(err(
            v,
            format!(
                "expected proxies' trusted field to be an array, got {}",
                v.go_type()
            ),
        ));
    };
    let mut trusted = Vec::new();
    for t in arr {
        let Some(m) = t.as_map() else {
            errors.push(err(
                t,
                format!(
                    "expected proxies' trusted entry to be a map/struct, got {}",
                    t.go_type()
                ),
            ));
            continue;
        };
        let mut key = String::new();
        for (k, mv) in m.iter() {
            match k.to_lowercase().as_str() {
                "key" | "public_key" => match string_of(mv) {
                    Ok(s) => {
                        if nkeys::KeyPair::from_public_key(&s).is_err() {
                            errors.push(err(
                                mv,
                                format!("invalid proxy key {}", crate::config::cli::go_quote(&s)),
                            ));
                        }
                        key = s;
                    }
                    Err(e) => errors.push(e),
                },
                _ if mv.used_variable => {}
                _ => errors.push(ConfigIssue {
                    pos: Some(mv.pos.clone()),
                    kind: IssueKind::UnknownField(k.to_string()),
                }),
            }
        }
        trusted.push(key);
    }
    Ok(trusted)
}

/// `authorization { auth_callout { ... } }` (Go's `parseAuthCallout`), with Go's texts.
/// natsd reads and checks it, but does not call out yet: a server refuses to start with it.
pub fn parse_auth_callout(
    v: &Value,
    errors: &mut Vec<ConfigIssue>,
) -> Result<super::AuthCallout, ConfigIssue> {
    let Some(m) = v.as_map() else {
        return Err(err(
            v,
            format!(
                "Expected authorization callout to be a map/struct, got {}",
                v.go_type()
            ),
        ));
    };
    let key_prefix = |k: &str| nkeys::from_public_key(k).ok().map(|(p, _)| p);
    let strings = |mv: &Value, what: &str| -> Result<Vec<String>, ConfigIssue> {
        let arr = mv.as_array().ok_or_else(|| {
            err(
                mv,
                format!("Expected {what} field to be an array, got {}", mv.go_type()),
            )
        })?;
        arr.iter().map(string_of).collect()
    };
    let mut ac = super::AuthCallout::default();
    for (k, mv) in m.iter() {
        match k.to_lowercase().as_str() {
            "issuer" => {
                ac.issuer = string_of(mv)?;
                // Account keys have the prefix byte 0.
                if key_prefix(&ac.issuer) != Some(0) {
                    return Err(err(
                        mv,
                        format!(
                            "Expected callout user to be a valid public account nkey, got {}",
                            crate::config::cli::go_quote(&ac.issuer)
                        ),
                    ));
                }
            }
            "account" | "acc" => ac.account = string_of(mv)?,
            "auth_users" | "users" => ac.auth_users = strings(mv, "auth_users")?,
            "xkey" | "key" => {
                ac.xkey = string_of(mv)?;
                // Curve keys have the prefix byte 23 << 3 ('X').
                if key_prefix(&ac.xkey) != Some(23 << 3) {
                    return Err(err(
                        mv,
                        format!(
                            "Expected callout xkey to be a valid public xkey, got {}",
                            crate::config::cli::go_quote(&ac.xkey)
                        ),
                    ));
                }
            }
            "allowed_accounts" => ac.allowed_accounts = strings(mv, "allowed accounts")?,
            _ if mv.used_variable => {}
            _ => errors.push(err(
                mv,
                format!("Unknown field {k:?} parsing authorization callout"),
            )),
        }
    }
    if ac.account.is_empty() {
        ac.account = crate::account::GLOBAL_ACCOUNT.to_string();
    }
    if ac.issuer.is_empty() {
        return Err(err(
            v,
            "Authorization callouts require an issuer to be specified",
        ));
    }
    if ac.auth_users.is_empty() {
        return Err(err(
            v,
            "Authorization callouts require authorized users to be specified",
        ));
    }
    Ok(ac)
}
