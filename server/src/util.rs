//! Small helpers shared across the server: number and host:port parsing as nats-server does
//! it, semantic version checks, URL comparison and redaction, thousands separators.

use regex::Regex;
use std::sync::LazyLock;
use url::Url;

/// Semantic versioning 2.0 (the pattern nats-server validates its own version with).
static SEMVER: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(concat!(
        r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)",
        r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?",
        r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
    ))
    .expect("constant pattern")
});

/// Whether `version` is a valid semantic version (`MAJOR.MINOR.PATCH[-pre][+build]`).
pub fn is_semver(version: &str) -> bool {
    SEMVER.is_match(version)
}

/// The major, minor and patch numbers of a semantic version; `None` if it is not one.
pub fn version_components(version: &str) -> Option<(u64, u64, u64)> {
    let m = SEMVER.captures(version)?;
    let num = |i: usize| m.get(i)?.as_str().parse::<u64>().ok();
    Some((num(1)?, num(2)?, num(3)?))
}

/// Whether `version` is at least `major.minor.patch`. A version that does not parse is
/// never recent enough. Pre-release tags are ignored (`2.0.0-beta` counts as `2.0.0`).
pub fn version_at_least(version: &str, major: u64, minor: u64, patch: u64) -> bool {
    version_components(version).is_some_and(|v| v >= (major, minor, patch))
}

/// A non-negative decimal number (no sign, no blanks); `None` for anything else, including
/// empty input and values past `i64::MAX`.
pub fn parse_int64(d: &[u8]) -> Option<i64> {
    if d.is_empty() {
        return None;
    }
    d.iter().try_fold(0i64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(i64::from(b - b'0'))
    })
}

/// Splits `host:port` like Go's `net.SplitHostPort`: the port follows the last colon, an
/// IPv6 host must be bracketed. Errors carry Go's reason text.
pub fn split_host_port(host_port: &str) -> Result<(&str, &str), String> {
    let err = |why: &str| Err(format!("address {host_port}: {why}"));
    let Some(colon) = host_port.rfind(':') else {
        return err("missing port in address");
    };
    let (host, scan_from_open, scan_from_close) = if host_port.starts_with('[') {
        let Some(end) = host_port.find(']') else {
            return err("missing ']' in address");
        };
        if end + 1 == host_port.len() {
            return err("missing port in address");
        }
        if end + 1 != colon {
            if host_port.as_bytes()[end + 1] == b':' {
                return err("too many colons in address");
            }
            return err("missing port in address");
        }
        (&host_port[1..end], 1, end + 1)
    } else {
        let host = &host_port[..colon];
        if host.contains(':') {
            return err("too many colons in address");
        }
        (host, 0, 0)
    };
    if host_port[scan_from_open..].contains('[') {
        return err("unexpected '[' in address");
    }
    if host_port[scan_from_close..].contains(']') {
        return err("unexpected ']' in address");
    }
    Ok((host, &host_port[colon + 1..]))
}

/// Parses `host[:port]` (blanks around either part are ignored). A missing port, `0` or
/// `-1` means `default_port`.
pub fn parse_host_port(host_port: &str, default_port: i32) -> Result<(String, i32), String> {
    if host_port.is_empty() {
        return Err("no hostport specified".to_string());
    }
    let with_default;
    let (host, port) = match split_host_port(host_port) {
        Ok(hp) => hp,
        Err(e) if e.ends_with("missing port in address") => {
            with_default = format!("{host_port}:{default_port}");
            split_host_port(&with_default)?
        }
        Err(e) => return Err(e),
    };
    let port_text = port.trim();
    let port: i32 = port_text
        .parse()
        .map_err(|_| format!("strconv.Atoi: parsing {port_text:?}: invalid syntax"))?;
    let port = if port == 0 || port == -1 {
        default_port
    } else {
        port
    };
    Ok((host.trim().to_string(), port))
}

/// Whether two URLs are the same (scheme, user info, host, port, path, query, fragment).
pub fn urls_are_equal(a: &Url, b: &Url) -> bool {
    a == b
}

/// `v` in base 10 with a comma every three digits: `1234567` -> `1,234,567`.
pub fn comma(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v < 0 {
        out.push('-');
    }
    // The leading group has 1 to 3 digits, every later one exactly 3.
    let lead = match digits.len() % 3 {
        0 => 3,
        r => r,
    };
    out.push_str(&digits[..lead]);
    let mut rest = &digits[lead..];
    while !rest.is_empty() {
        out.push(',');
        out.push_str(&rest[..3]);
        rest = &rest[3..];
    }
    out
}

/// What a password is replaced with when a URL is logged.
const REDACTED_PASSWORD: &str = "xxxxx";

/// `url` with its password (if any) replaced, for logs.
pub fn redact_url(url: &Url) -> Url {
    let mut u = url.clone();
    if u.password().is_some() {
        // Only URLs that cannot carry credentials refuse this, and those have no password.
        let _ = u.set_password(Some(REDACTED_PASSWORD));
    }
    u
}

/// Every URL of `urls` with its password replaced, for logs.
pub fn redact_url_list(urls: &[Url]) -> Vec<Url> {
    urls.iter().map(redact_url).collect()
}

/// A URL string with its password replaced, for logs. Strings without user info, or that
/// do not parse as URLs, come back unchanged.
pub fn redact_url_string(raw: &str) -> String {
    if !raw.contains('@') {
        return raw.to_string();
    }
    match Url::parse(raw) {
        Ok(u) if u.password().is_some() => redact_url(&u).to_string(),
        _ => raw.to_string(),
    }
}

/// Whether `ip` is a global unicast address in Go's sense (`net.IP.IsGlobalUnicast`): not
/// unspecified, loopback, multicast, link-local or the IPv4 broadcast address. Private
/// ranges count as global.
pub fn is_global_unicast(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_multicast()
                || v4.is_link_local()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            !(v6.is_unspecified() || v6.is_loopback() || v6.is_multicast() || link_local)
        }
    }
}

/// The global unicast addresses of this host's interfaces when `host` is the unspecified
/// address (`0.0.0.0` or `::`); `None` for any other host.
pub fn non_local_ips_if_host_is_any(host: &str) -> Option<Vec<String>> {
    let ip: std::net::IpAddr = host.parse().ok()?;
    if !ip.is_unspecified() {
        return None;
    }
    let ifaces = if_addrs::get_if_addrs().unwrap_or_default();
    Some(
        ifaces
            .into_iter()
            .map(|i| i.ip())
            .filter(|ip| is_global_unicast(*ip))
            .map(|ip| ip.to_string())
            .collect(),
    )
}

/// The `host:port` URLs clients are told to use (Go's `getConnectURLs`): the advertise
/// address when set (its port defaulting to `port`), else every global address of this
/// host when listening on all interfaces, else `host:port`.
pub fn connect_urls(advertise: &str, host: &str, port: i32) -> Result<Vec<String>, String> {
    let join = |h: &str, p: i32| {
        if h.contains(':') {
            format!("[{h}]:{p}")
        } else {
            format!("{h}:{p}")
        }
    };
    if !advertise.is_empty() {
        let (h, p) = parse_host_port(advertise, port)?;
        return Ok(vec![join(&h, p)]);
    }
    let urls: Vec<String> = non_local_ips_if_host_is_any(host)
        .unwrap_or_default()
        .iter()
        .map(|ip| join(ip, port))
        .collect();
    if !urls.is_empty() {
        return Ok(urls);
    }
    // Listening on all interfaces but none has a usable address: there is nothing to
    // advertise (Go logs this as an error).
    if host == "0.0.0.0" || host == "::" {
        return Ok(Vec::new());
    }
    Ok(vec![join(host, port)])
}

/// A version-control revision as shown in the banner and INFO: a git hash is shortened to
/// 7 characters, shorter revisions (e.g. SVN numbers) are kept whole.
pub fn format_revision(revision: &str) -> &str {
    match revision.char_indices().nth(7) {
        Some((i, _)) => &revision[..i],
        None => revision,
    }
}

/// The git commit natsd was built from, when the build set `NATSD_GIT_COMMIT`.
pub fn git_commit() -> Option<&'static str> {
    option_env!("NATSD_GIT_COMMIT")
        .map(format_revision)
        .filter(|c| !c.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_host_port_like_go() {
        assert_eq!(
            parse_host_port("me:1", 4222).unwrap(),
            ("me".to_string(), 1)
        );
        // No port, or port 0 / -1: the default.
        assert_eq!(
            parse_host_port("me", 4333).unwrap(),
            ("me".to_string(), 4333)
        );
        assert_eq!(
            parse_host_port("me:0", 4333).unwrap(),
            ("me".to_string(), 4333)
        );
        assert_eq!(
            parse_host_port("me:-1", 4333).unwrap(),
            ("me".to_string(), 4333)
        );
        assert_eq!(
            parse_host_port("[::1]:5", 1).unwrap(),
            ("::1".to_string(), 5)
        );
        assert_eq!(parse_host_port("[::1]", 7).unwrap(), ("::1".to_string(), 7));
        assert_eq!(
            parse_host_port(" me : 2", 7).unwrap(),
            ("me".to_string(), 2)
        );
        assert!(parse_host_port("", 1).is_err());
        assert!(parse_host_port("me:x", 1).is_err());
        assert!(parse_host_port("[::1]x:1", 1).is_err());
        assert!(parse_host_port("a]:1", 1).is_err());
        assert_eq!(
            parse_host_port("::1", 1).unwrap_err(),
            "address ::1: too many colons in address"
        );
    }

    #[test]
    fn own_version_is_semver() {
        assert!(is_semver(crate::VERSION));
        assert!(is_semver("2.10.0-beta.1+build.5"));
        assert!(!is_semver("2.10"));
        assert!(!is_semver("02.1.0"));
    }

    #[test]
    fn parse_int64_refuses_overflow_and_signs() {
        assert_eq!(parse_int64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int64(b"9223372036854775808"), None);
        assert_eq!(parse_int64(b"-1"), None);
        assert_eq!(parse_int64(b"+1"), None);
    }

    #[test]
    fn split_host_port_like_go() {
        assert_eq!(split_host_port("[::1]:4222"), Ok(("::1", "4222")));
        assert_eq!(split_host_port("h:"), Ok(("h", "")));
        assert!(split_host_port("[::1]")
            .unwrap_err()
            .ends_with("missing port in address"));
        assert!(split_host_port("::1")
            .unwrap_err()
            .ends_with("too many colons in address"));
        assert!(split_host_port("[::1]x:1")
            .unwrap_err()
            .ends_with("missing port in address"));
        assert_eq!(
            parse_host_port("[::1]", 4222),
            Ok(("::1".to_string(), 4222))
        );
    }

    #[test]
    fn global_unicast_like_go() {
        let g = |s: &str| is_global_unicast(s.parse().unwrap());
        assert!(g("192.0.2.2") && g("10.1.2.3") && g("fd00::2") && g("2000::1"));
        assert!(!g("0.0.0.0") && !g("127.0.0.1") && !g("169.254.1.1") && !g("224.0.0.1"));
        assert!(!g("255.255.255.255") && !g("::") && !g("::1") && !g("fe80::1") && !g("ff02::1"));
    }

    #[test]
    fn connect_urls_for_a_specific_host() {
        assert_eq!(
            connect_urls("", "::1", 4222),
            Ok(vec!["[::1]:4222".to_string()])
        );
        assert_eq!(
            connect_urls("me", "0.0.0.0", 4222),
            Ok(vec!["me:4222".to_string()])
        );
        assert!(connect_urls("a:b:c", "0.0.0.0", 4222).is_err());
    }

    #[test]
    fn redacts_only_passwords() {
        assert_eq!(
            redact_url_string("nats://a:b@h:4222"),
            "nats://a:xxxxx@h:4222"
        );
        assert_eq!(redact_url_string("nats://a@h:4222"), "nats://a@h:4222");
        assert_eq!(redact_url_string("not a url @ all"), "not a url @ all");
    }
}
