//! The `accounts` block of a configuration file (nats-server's `parseAccounts`): accounts
//! as a list of names or as a map of name to `{ users, nkey, default_permissions }`, with
//! Go's error texts. Users defined in an account are added to the options' users and
//! nkeys, tagged with the account.

use super::file::{ConfigErrors, ConfigIssue, IssueKind};
use super::Options;
use crate::account::{AccountConfig, GLOBAL_ACCOUNT};
use crate::config::conf::{Kind, Value};
use std::collections::HashSet;

fn error(v: &Value, reason: impl Into<String>) -> ConfigIssue {
    ConfigIssue {
        pos: Some(v.pos.clone()),
        kind: IssueKind::Error(reason.into()),
    }
}

/// `$G` cannot be configured.
fn is_reserved(name: &str) -> bool {
    name == GLOBAL_ACCOUNT
}

/// An account's `msg_trace` (or `trace_dest`): a destination subject, or a map of `dest`
/// and `sampling` (a number or a percentage, 1..100), with Go's texts.
fn parse_msg_trace(v: &Value, top_key: &str, acc: &mut AccountConfig) -> Result<(), ConfigIssue> {
    let dest = |v: &Value, k: &str, acc: &mut AccountConfig| match v.as_str() {
        None => Err(error(
            v,
            format!("Field {k:?} should be a string, got {}", v.go_type()),
        )),
        Some(d) if !crate::subject::is_valid_publish_subject(d) => {
            Err(error(v, format!("Trace destination {d:?} is not valid")))
        }
        Some(d) => {
            acc.trace_dest = d.to_string();
            Ok(())
        }
    };
    let sampling = |v: &Value, n: i64, acc: &mut AccountConfig| {
        if n <= 0 || n > 100 {
            // Go's text, typo included.
            return Err(error(
                v,
                format!("Ttrace destination sampling value {n} is invalid, needs to be [1..100]"),
            ));
        }
        acc.trace_dest_sampling = n;
        Ok(())
    };
    match &v.kind {
        Kind::String(_) => dest(v, top_key, acc),
        Kind::Map(m) => {
            for (k, mv) in m.iter() {
                match k.to_lowercase().as_str() {
                    "dest" => dest(mv, k, acc)?,
                    "sampling" => match &mv.kind {
                        Kind::Integer(n) => sampling(mv, *n, acc)?,
                        Kind::String(s) => {
                            let n = s.strip_suffix('%').unwrap_or(s).parse::<i64>().map_err(|_| {
                                error(mv, format!("Invalid trace destination sampling value {s:?}"))
                            })?;
                            sampling(mv, n, acc)?
                        }
                        _ => {
                            return Err(error(
                                mv,
                                format!(
                                    "Trace destination sampling field {k:?} should be an integer or a percentage, got {}",
                                    mv.go_type()
                                ),
                            ))
                        }
                    },
                    _ if mv.used_variable => {}
                    _ => {
                        return Err(error(
                            mv,
                            format!(
                                "Unknown field {k:?} parsing account message trace map/struct {top_key:?}"
                            ),
                        ))
                    }
                }
            }
            Ok(())
        }
        _ => Err(error(
            v,
            format!(
                "Expected account message trace {top_key:?} to be a string or a map/struct, got {}",
                v.go_type()
            ),
        )),
    }
}

/// An account's `limits` (Go's `parseAccountLimits`), with Go's texts.
fn parse_limits(v: &Value) -> Result<crate::account::AccountLimits, Vec<ConfigIssue>> {
    let Some(m) = v.as_map() else {
        return Err(vec![error(
            v,
            format!(
                "Expected account limits to be a map/struct, got {}",
                go_plain_value(v)
            ),
        )]);
    };
    let mut limits = crate::account::AccountLimits::default();
    let mut errors = Vec::new();
    for (k, lv) in m.iter() {
        let slot = match k.to_lowercase().as_str() {
            "max_connections" | "max_conn" => &mut limits.max_connections,
            "max_subscriptions" | "max_subs" => &mut limits.max_subs,
            "max_payload" | "max_pay" => &mut limits.max_payload,
            "max_leafnodes" | "max_leafs" => &mut limits.max_leafnodes,
            _ if lv.used_variable => continue,
            _ => {
                errors.push(error(
                    lv,
                    format!("Unknown field {k:?} parsing account limits"),
                ));
                continue;
            }
        };
        match lv.as_i64() {
            Some(n) => *slot = n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)),
            None => errors.push(error(
                lv,
                format!("Expected an integer for {k:?}, got {}", lv.go_type()),
            )),
        }
    }
    if errors.is_empty() {
        Ok(limits)
    } else {
        Err(errors)
    }
}

/// A value as Go's `%+v` prints the simple kinds.
fn go_plain_value(v: &Value) -> String {
    match &v.kind {
        Kind::String(s) => s.clone(),
        Kind::Integer(i) => i.to_string(),
        Kind::Bool(b) => b.to_string(),
        Kind::Float(f) => f.to_string(),
        _ => v.go_type().to_string(),
    }
}

/// Applies an `accounts` value to `o`; problems go to `out`.
pub fn apply_accounts(o: &mut Options, v: &Value, out: &mut ConfigErrors) {
    match &v.kind {
        Kind::Array(names) => {
            let mut seen = HashSet::new();
            for n in names {
                let Some(name) = n.as_str() else {
                    out.errors.push(error(
                        n,
                        format!("Expected an account name, got {}", n.go_type()),
                    ));
                    continue;
                };
                if is_reserved(name) {
                    out.errors
                        .push(error(n, format!("{name:?} is a Reserved Account")));
                    continue;
                }
                if !seen.insert(name.to_string()) {
                    out.errors
                        .push(error(n, format!("Duplicate Account Entry: {name}")));
                    continue;
                }
                o.accounts.push(AccountConfig {
                    name: name.to_string(),
                    ..AccountConfig::default()
                });
            }
        }
        Kind::Map(m) => {
            // Users must be unique across accounts and the authorization block.
            let mut taken: HashSet<String> = o
                .users
                .iter()
                .map(|u| u.username.clone())
                .chain(o.nkeys.iter().map(|n| n.nkey.clone()))
                .collect();
            for (name, av) in m.iter() {
                if av.used_variable {
                    continue;
                }
                let Some(body) = av.as_map() else {
                    out.errors
                        .push(error(av, "Expected map entries for accounts"));
                    continue;
                };
                if is_reserved(name) {
                    out.errors
                        .push(error(av, format!("{name:?} is a Reserved Account")));
                    continue;
                }
                let mut acc = AccountConfig {
                    name: name.to_string(),
                    ..AccountConfig::default()
                };
                let mut users = Vec::new();
                let mut nkeys = Vec::new();
                let mut users_value: Option<&Value> = None;
                for (k, kv) in body.iter() {
                    let key = k.to_lowercase();
                    match key.as_str() {
                        "nkey" => match kv.as_str() {
                            Some(nk) if is_account_public_key(nk) => acc.nkey = nk.to_string(),
                            _ => out.errors.push(error(
                                kv,
                                format!(
                                    "Not a valid public nkey for an account: {}",
                                    go_quoted_value(kv)
                                ),
                            )),
                        },
                        "users" => {
                            users_value = Some(kv);
                            match crate::auth::conf::parse_users(kv, &mut out.errors) {
                                Ok((n, u)) => {
                                    nkeys = n;
                                    users = u;
                                }
                                Err(e) => out.errors.push(e),
                            }
                        }
                        "msg_trace" | "trace_dest" => match parse_msg_trace(kv, k, &mut acc) {
                            Err(e) => out.errors.push(e),
                            Ok(()) => {
                                if !acc.trace_dest.is_empty() && acc.trace_dest_sampling == 0 {
                                    acc.trace_dest_sampling = 100;
                                } else if acc.trace_dest_sampling > 0 && acc.trace_dest.is_empty() {
                                    out.warnings.push(error(
                                        kv,
                                        "Trace destination sampling ignored since no destination was set",
                                    ));
                                    acc.trace_dest_sampling = 0;
                                }
                            }
                        },
                        "limits" => match parse_limits(kv) {
                            Ok(l) => acc.limits = l,
                            Err(e) => out.errors.extend(e),
                        },
                        "jetstream" => {
                            if let Err(e) =
                                super::jetstream::parse::apply_account_jetstream(&mut acc, kv, out)
                            {
                                out.errors.push(e);
                            }
                        }
                        "mappings" | "maps" => {
                            acc.mappings = super::mappings::parse_mappings(kv, &mut out.errors);
                        }
                        "default_permissions" => {
                            match crate::auth::conf::parse_permissions(kv, &mut out.errors) {
                                Ok(p) => acc.default_permissions = Some(p),
                                Err(e) => out.errors.push(e),
                            }
                        }
                        "imports" => {
                            match super::account_imports::parse_imports(kv, &mut out.errors) {
                                Ok(i) => acc.imports = i,
                                Err(e) => out.errors.push(e),
                            }
                        }
                        "exports" => {
                            match super::account_imports::parse_exports(kv, &mut out.errors) {
                                Ok(e) => acc.exports = e,
                                Err(e) => out.errors.push(e),
                            }
                        }
                        _ if kv.used_variable => {}
                        _ => out.errors.push(ConfigIssue {
                            pos: Some(kv.pos.clone()),
                            kind: IssueKind::UnknownField(k.to_string()),
                        }),
                    }
                }
                let at = users_value.unwrap_or(av);
                if !users.is_empty() || !nkeys.is_empty() {
                    if !o.username.is_empty() {
                        out.errors
                            .push(error(at, "Can not have a single user/pass and accounts"));
                        o.accounts.push(acc);
                        continue;
                    }
                    if !o.authorization.is_empty() {
                        out.errors
                            .push(error(at, "Can not have a token and accounts"));
                        o.accounts.push(acc);
                        continue;
                    }
                }
                crate::auth::conf::fill_default_permissions(
                    &mut users,
                    &mut nkeys,
                    acc.default_permissions.as_ref(),
                );
                for mut n in nkeys {
                    if !taken.insert(n.nkey.clone()) {
                        out.errors
                            .push(error(at, format!("Duplicate nkey {:?} detected", n.nkey)));
                        continue;
                    }
                    n.account = acc.name.clone();
                    o.nkeys.push(n);
                }
                for mut u in users {
                    if !taken.insert(u.username.clone()) {
                        out.errors.push(error(
                            at,
                            format!("Duplicate user {:?} detected", u.username),
                        ));
                        continue;
                    }
                    u.account = acc.name.clone();
                    o.users.push(u);
                }
                o.accounts.push(acc);
            }
            // Imports are checked once every account is known, and only when all else
            // was right (as Go does).
            if out.errors.is_empty() {
                let issues = super::account_imports::check_imports_exports(
                    &o.accounts,
                    o.no_system_account,
                    v,
                );
                out.errors.extend(issues);
            }
        }
        _ => out.errors.push(error(
            v,
            format!("Expected an array or map of accounts, got {}", v.go_type()),
        )),
    }
}

/// Adds the users and nkeys of an `authorization` block to those accounts parsed before
/// it may have added (the blocks come in any order), refusing duplicates and a single
/// user or a token next to them, as Go does.
pub fn merge_authorization_users(
    o: &mut Options,
    users: Vec<crate::auth::User>,
    nkeys: Vec<crate::auth::NkeyUser>,
    single_user: &str,
    token: &str,
    at: &Value,
) -> Result<(), ConfigIssue> {
    let mut taken: HashSet<String> = o
        .users
        .iter()
        .map(|u| u.username.clone())
        .chain(o.nkeys.iter().map(|n| n.nkey.clone()))
        .collect();
    if !taken.is_empty() || !users.is_empty() || !nkeys.is_empty() {
        if !single_user.is_empty() {
            return Err(error(
                at,
                "Can not have a single user/pass and a users array",
            ));
        }
        if !token.is_empty() {
            return Err(error(at, "Can not have a token and a users array"));
        }
    }
    for u in &users {
        if !taken.insert(u.username.clone()) {
            return Err(error(
                at,
                format!("Duplicate user {:?} detected", u.username),
            ));
        }
    }
    for n in &nkeys {
        if !taken.insert(n.nkey.clone()) {
            return Err(error(at, format!("Duplicate nkey {:?} detected", n.nkey)));
        }
    }
    o.users.extend(users);
    o.nkeys.extend(nkeys);
    Ok(())
}

/// `system_account` / `system`: the name of the system account.
pub fn apply_system_account(o: &mut Options, v: &Value) -> Result<(), ConfigIssue> {
    match v.as_str() {
        Some(s) => {
            o.system_account = s.to_string();
            Ok(())
        }
        None => Err(error(v, "system account name must be a string")),
    }
}

/// A public account nkey: `A...` that decodes as one.
fn is_account_public_key(k: &str) -> bool {
    k.starts_with('A') && nkeys::KeyPair::from_public_key(k).is_ok()
}

/// A value as Go's `%q` prints it: strings quoted, other kinds as their text.
fn go_quoted_value(v: &Value) -> String {
    match v.as_str() {
        Some(s) => super::cli::go_quote(s),
        None => match &v.kind {
            Kind::Integer(i) => format!("%!q({}={i})", v.go_type()),
            Kind::Bool(b) => format!("%!q(bool={b})"),
            _ => format!("%!q({})", v.go_type()),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::config::file::apply_config_string;
    use crate::config::Options;

    fn load(conf: &str) -> Result<Options, String> {
        let mut o = Options::default();
        apply_config_string(&mut o, conf)
            .map(|_| o)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn account_limits() {
        let o = load(
            "accounts { A { limits { max_connections: 5, max_subs: 10, max_payload: 32k, max_leafnodes: 1 } } }",
        )
        .unwrap();
        let l = o.accounts[0].limits;
        assert_eq!((l.max_connections, l.max_subs, l.max_leafnodes), (5, 10, 1));
        assert!(l.max_payload >= 32_000);
        let unset = load("accounts { A { limits { max_conn: 2 } } }").unwrap();
        assert_eq!(unset.accounts[0].limits.max_subs, -1);
        let err = load("accounts { A { limits { max_colors: 2 } } }").unwrap_err();
        assert!(
            err.contains("Unknown field \"max_colors\" parsing account limits"),
            "{err}"
        );
        let err = load("accounts { A { limits: 5 } }").unwrap_err();
        assert!(
            err.contains("Expected account limits to be a map/struct, got 5"),
            "{err}"
        );
    }

    #[test]
    fn min_limit_of_server_and_account() {
        use crate::account::min_limit;
        assert_eq!(min_limit(0, -1), None);
        assert_eq!(min_limit(100, -1), Some(100));
        assert_eq!(min_limit(0, 10), Some(10));
        assert_eq!(min_limit(100, 10), Some(10));
        assert_eq!(min_limit(5, 10), Some(5));
    }

    #[test]
    fn msg_trace_is_parsed_and_checked_like_go() {
        let o =
            load("accounts { A { msg_trace: {dest: \"my.trace.dest\", sampling: 50%} } }").unwrap();
        assert_eq!(o.accounts[0].trace_dest, "my.trace.dest");
        assert_eq!(o.accounts[0].trace_dest_sampling, 50);
        // A destination alone samples everything.
        let o = load("accounts { A { trace_dest: \"acc.dest\" } }").unwrap();
        assert_eq!(o.accounts[0].trace_dest_sampling, 100);
        let o = load("accounts { A { msg_trace: {dest: acc.dest, sampling: 20} } }").unwrap();
        assert_eq!(o.accounts[0].trace_dest_sampling, 20);
        // Sampling without a destination is dropped, with a warning.
        let mut o = Options::default();
        let warnings =
            apply_config_string(&mut o, "accounts { A { msg_trace: {sampling: 50} } }").unwrap();
        assert_eq!(o.accounts[0].trace_dest_sampling, 0);
        assert!(warnings[0]
            .to_string()
            .ends_with("Trace destination sampling ignored since no destination was set"));
        // nats-server's config_check cases: (account body, error, line, column).
        for (body, want, col) in [
            (
                r#"trace_dest: "invalid.publish.*.subject""#,
                r#"Trace destination "invalid.publish.*.subject" is not valid"#,
                23,
            ),
            (
                r#"msg_trace: {dest: 123}"#,
                r#"Field "dest" should be a string, got int64"#,
                35,
            ),
            (
                r#"msg_trace: {dest: "invalid..dest"}"#,
                r#"Trace destination "invalid..dest" is not valid"#,
                35,
            ),
            (
                r#"msg_trace: {dest: "acc.dest", sampling: {wront: "type"}}"#,
                r#"Trace destination sampling field "sampling" should be an integer or a percentage, got map[string]interface {}"#,
                53,
            ),
            (
                r#"msg_trace: {dest: "acc.dest", sampling: abc%}"#,
                r#"Invalid trace destination sampling value "abc%""#,
                53,
            ),
            (
                r#"msg_trace: {dest: "acc.dest", sampling: -1}"#,
                "Ttrace destination sampling value -1 is invalid, needs to be [1..100]",
                53,
            ),
            (
                r#"msg_trace: {dest: "acc.dest", sampling: 0}"#,
                "Ttrace destination sampling value 0 is invalid, needs to be [1..100]",
                53,
            ),
            (
                r#"msg_trace: {dest: "acc.dest", sampling: 101}"#,
                "Ttrace destination sampling value 101 is invalid, needs to be [1..100]",
                53,
            ),
            (
                r#"msg_trace: {wrong: "field"}"#,
                r#"Unknown field "wrong" parsing account message trace map/struct "msg_trace""#,
                35,
            ),
        ] {
            let conf = format!(
                "\n                accounts {{\n                  A {{ {body} }}\n                }}\n\t\t\t"
            );
            let e = load(&conf).unwrap_err();
            assert!(e.contains(&format!(":3:{col}: {want}")), "{body}: {e}");
        }
    }

    #[test]
    fn users_are_tagged_with_their_account() {
        let o = load(
            "accounts { A { users [{user: a, password: a}] }\n\
             B { users [{user: b, password: b}], default_permissions { publish: foo } } }\n\
             system_account: A",
        )
        .unwrap();
        let names: Vec<_> = o.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["A", "B"]);
        assert_eq!(o.system_account, "A");
        let b = o.users.iter().find(|u| u.username == "b").unwrap();
        assert_eq!(b.account, "B");
        assert!(b.permissions.is_some(), "account default permissions apply");
        assert_eq!(
            o.users.iter().find(|u| u.username == "a").unwrap().account,
            "A"
        );
    }

    #[test]
    fn authorization_after_accounts_keeps_both() {
        for conf in [
            "accounts { A { users [{user: a, password: a}] } }\n\
             authorization { users [{user: b, password: b}] }",
            "authorization { users [{user: b, password: b}] }\n\
             accounts { A { users [{user: a, password: a}] } }",
        ] {
            let o = load(conf).unwrap();
            let mut users: Vec<_> = o
                .users
                .iter()
                .map(|u| (u.username.as_str(), u.account.as_str()))
                .collect();
            users.sort_unstable();
            assert_eq!(users, [("a", "A"), ("b", "")], "{conf}");
            assert!(o.auth_block_defined);
        }
        for (conf, want) in [
            (
                "accounts { A { users [{user: x}] } }\nauthorization { users [{user: x}] }",
                "Duplicate user \"x\" detected",
            ),
            (
                "accounts { A { users [{user: x}] } }\nauthorization { user: u, password: p }",
                "Can not have a single user/pass",
            ),
            (
                "accounts { A { users [{user: x}] } }\nauthorization { token: t }",
                "Can not have a token",
            ),
        ] {
            let e = load(conf).unwrap_err();
            assert!(e.contains(want), "{conf}: {e}");
        }
        assert!(!load("accounts: [A]").unwrap().auth_block_defined);
    }

    #[test]
    fn list_of_names() {
        let o = load("accounts: [A, B]").unwrap();
        assert_eq!(o.accounts.len(), 2);
        let e = load("accounts: [A, A]").unwrap_err();
        assert!(e.contains("Duplicate Account Entry: A"), "{e}");
    }

    #[test]
    fn errors_as_go() {
        let e = load("accounts { $G { } }").unwrap_err();
        assert!(e.contains("\"$G\" is a Reserved Account"), "{e}");
        let e = load("accounts { A { users [{user: x}] }, B { users [{user: x}] } }").unwrap_err();
        assert!(e.contains("Duplicate user \"x\" detected"), "{e}");
        let e =
            load("authorization { token: t }\naccounts { A { users [{user: x}] } }").unwrap_err();
        assert!(e.contains("Can not have a token and accounts"), "{e}");
        let e = load("accounts { A { nkey: nope } }").unwrap_err();
        assert!(
            e.contains("Not a valid public nkey for an account: \"nope\""),
            "{e}"
        );
        assert!(load("accounts { A { exports [{stream: foo}] } }").is_ok());
        let e = load("accounts { A { bogus: 1 } }").unwrap_err();
        assert!(e.contains("unknown field \"bogus\""), "{e}");
    }
}
