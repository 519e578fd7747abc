//! Ports of `server/util_test.go`. The benchmarks of that file are not tests.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::protocol::parser::parse_size;
use natsd::util::{
    comma, parse_host_port, parse_int64, redact_url_list, redact_url_string, urls_are_equal,
    version_at_least,
};
use ported::port;
use url::Url;

port!("server/util_test.go::TestParseSize" => parse_size_test);
fn parse_size_test() {
    assert_eq!(parse_size(b""), None, "Should error on nil byte slice");
    let n = b"12345678";
    assert_eq!(
        parse_size(n),
        Some(12345678),
        "Did not parse {n:?} correctly"
    );
    let n = b"12345invalid678";
    assert_eq!(parse_size(n), None, "Should error on {n:?}");
}

port!("server/util_test.go::TestParseSInt64" => parse_sint64);
fn parse_sint64() {
    assert_eq!(parse_int64(b""), None, "Should error on nil byte slice");
    let n = b"12345678";
    assert_eq!(
        parse_int64(n),
        Some(12345678),
        "Did not parse {n:?} correctly"
    );
    let n = b"12345invalid678";
    assert_eq!(parse_int64(n), None, "Should error on {n:?}");
}

port!("server/util_test.go::TestParseHostPort" => parse_host_port_test);
fn parse_host_port_test() {
    let check = |host_port: &str, default_port: i32, exp_host: &str, exp_port: i32, exp_err| {
        let r = parse_host_port(host_port, default_port);
        if exp_err {
            assert!(
                r.is_err(),
                "{host_port:?}: Expected an error, did not get one"
            );
            return;
        }
        let (h, p) = r.unwrap_or_else(|e| panic!("{host_port:?}: Unexpected error: {e}"));
        assert_eq!(
            h, exp_host,
            "{host_port:?}: Expected host {exp_host:?}, got {h:?}"
        );
        assert_eq!(
            p, exp_port,
            "{host_port:?}: Expected port {exp_port}, got {p}"
        );
    };
    check("addr:1234", 5678, "addr", 1234, false);
    check(" addr:1234 ", 5678, "addr", 1234, false);
    check(" addr : 1234 ", 5678, "addr", 1234, false);
    check("addr", 5678, "addr", 5678, false);
    check(" addr ", 5678, "addr", 5678, false);
    check("addr:-1", 5678, "addr", 5678, false);
    check(" addr:-1 ", 5678, "addr", 5678, false);
    check(" addr : -1 ", 5678, "addr", 5678, false);
    check("addr:0", 5678, "addr", 5678, false);
    check(" addr:0 ", 5678, "addr", 5678, false);
    check(" addr : 0 ", 5678, "addr", 5678, false);
    check("addr:addr", 0, "", 0, true);
    check("addr:::1234", 0, "", 0, true);
    check("", 0, "", 0, true);
}

port!("server/util_test.go::TestURLsAreEqual" => urls_are_equal_test);
fn urls_are_equal_test() {
    let check = |u1: &str, u2: &str, expected_same: bool| {
        let a = Url::parse(u1).unwrap_or_else(|e| panic!("Error parsing url {u1:?}: {e}"));
        let b = Url::parse(u2).unwrap_or_else(|e| panic!("Error parsing url {u2:?}: {e}"));
        let same = urls_are_equal(&a, &b);
        if expected_same {
            assert!(same, "Expected {a} and {b} to be the same, they were not");
        } else {
            assert!(!same, "Expected {a} and {b} to be different, they were not");
        }
    };
    check("nats://localhost:4222", "nats://localhost:4222", true);
    check(
        "nats://ivan:pwd@localhost:4222",
        "nats://ivan:pwd@localhost:4222",
        true,
    );
    check(
        "nats://ivan@localhost:4222",
        "nats://ivan@localhost:4222",
        true,
    );
    check(
        "nats://ivan:@localhost:4222",
        "nats://ivan:@localhost:4222",
        true,
    );
    check("nats://host1:4222", "nats://host2:4222", false);
}

port!("server/util_test.go::TestComma" => comma_test);
fn comma_test() {
    let l: &[(&str, String, &str)] = &[
        ("0", comma(0), "0"),
        ("10", comma(10), "10"),
        ("100", comma(100), "100"),
        ("1,000", comma(1000), "1,000"),
        ("10,000", comma(10000), "10,000"),
        ("100,000", comma(100000), "100,000"),
        ("10,000,000", comma(10000000), "10,000,000"),
        ("10,100,000", comma(10100000), "10,100,000"),
        ("10,010,000", comma(10010000), "10,010,000"),
        ("10,001,000", comma(10001000), "10,001,000"),
        ("123,456,789", comma(123456789), "123,456,789"),
        (
            "maxint",
            comma(9_223_372_000_000_000_000),
            "9,223,372,000,000,000,000",
        ),
        ("math.maxint", comma(i64::MAX), "9,223,372,036,854,775,807"),
        ("math.minint", comma(i64::MIN), "-9,223,372,036,854,775,808"),
        (
            "minint",
            comma(-9_223_372_000_000_000_000),
            "-9,223,372,000,000,000,000",
        ),
        ("-123,456,789", comma(-123456789), "-123,456,789"),
        ("-10,100,000", comma(-10100000), "-10,100,000"),
        ("-10,010,000", comma(-10010000), "-10,010,000"),
        ("-10,001,000", comma(-10001000), "-10,001,000"),
        ("-10,000,000", comma(-10000000), "-10,000,000"),
        ("-100,000", comma(-100000), "-100,000"),
        ("-10,000", comma(-10000), "-10,000"),
        ("-1,000", comma(-1000), "-1,000"),
        ("-100", comma(-100), "-100"),
        ("-10", comma(-10), "-10"),
    ];
    let failed: Vec<String> = l
        .iter()
        .filter(|(_, got, exp)| got != exp)
        .map(|(name, got, exp)| format!("On {name}, expected '{exp}', but got '{got}'"))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

port!("server/util_test.go::TestURLRedaction" => url_redaction);
fn url_redaction() {
    let redaction_from_to = [
        ("nats://foo:bar@example.org", "nats://foo:xxxxx@example.org"),
        ("nats://foo@example.org", "nats://foo@example.org"),
        ("nats://example.org", "nats://example.org"),
        (
            "nats://example.org/foo?bar=1",
            "nats://example.org/foo?bar=1",
        ),
    ];
    let mut list_full = Vec::new();
    let mut list_safe = Vec::new();
    for (i, (full, safe)) in redaction_from_to.iter().enumerate() {
        let r = redact_url_string(full);
        assert_eq!(
            r, *safe,
            "Redacting URL [index {i}] {full:?}, expected {safe:?} got {r:?}"
        );
        list_full.push(
            Url::parse(full)
                .unwrap_or_else(|e| panic!("Redacting URL index {i} parse Full failed: {e}")),
        );
        list_safe.push(
            Url::parse(safe)
                .unwrap_or_else(|e| panic!("Redacting URL index {i} parse Safe failed: {e}")),
        );
    }
    let results = redact_url_list(&list_full);
    assert_eq!(
        results, list_safe,
        "Redacting URL list did not compare equal, even after each URL did"
    );
}

port!("server/util_test.go::TestVersionAtLeast" => version_at_least_test);
fn version_at_least_test() {
    for (version, major, minor, update, result) in [
        ("2.0.0-beta", 1, 9, 9, true),
        ("2.0.0", 1, 99, 9, true),
        ("2.2.0", 2, 1, 9, true),
        ("2.2.2", 2, 2, 2, true),
        ("2.2.2", 2, 2, 3, false),
        ("2.2.2", 2, 3, 2, false),
        ("2.2.2", 3, 2, 2, false),
        ("2.22.2", 3, 0, 0, false),
        ("2.2.22", 2, 3, 0, false),
        ("bad.version", 1, 2, 3, false),
    ] {
        let res = version_at_least(version, major, minor, update);
        assert_eq!(
            res, result,
            "For check version {version:?} at least {major}.{minor}.{update} result should have been {result}, got {res}"
        );
    }
}
