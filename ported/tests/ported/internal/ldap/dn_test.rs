//! Ports of internal/ldap/dn_test.go: the LDAP distinguished names `verify_and_map`
//! matches client certificates against (natsd's `tls::x509::Dn`).

use natsd::tls::x509::{Dn, DnAttribute};
use ported::port;

fn rdn(attrs: &[(&str, &str)]) -> Vec<DnAttribute> {
    attrs
        .iter()
        .map(|(t, v)| DnAttribute {
            typ: t.to_string(),
            value: v.to_string(),
        })
        .collect()
}

fn parse(s: &str) -> Dn {
    Dn::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

port!("internal/ldap/dn_test.go::TestSuccessfulDNParsing" => successful_dn_parsing);
fn successful_dn_parsing() {
    let cases: Vec<(&str, Vec<Vec<DnAttribute>>)> = vec![
        ("", vec![]),
        (
            "cn=Jim\\2C \\22Hasse Hö\\22 Hansson!,dc=dummy,dc=com",
            vec![
                rdn(&[("cn", "Jim, \"Hasse Hö\" Hansson!")]),
                rdn(&[("dc", "dummy")]),
                rdn(&[("dc", "com")]),
            ],
        ),
        (
            "UID=jsmith,DC=example,DC=net",
            vec![
                rdn(&[("UID", "jsmith")]),
                rdn(&[("DC", "example")]),
                rdn(&[("DC", "net")]),
            ],
        ),
        (
            "OU=Sales+CN=J. Smith,DC=example,DC=net",
            vec![
                rdn(&[("OU", "Sales"), ("CN", "J. Smith")]),
                rdn(&[("DC", "example")]),
                rdn(&[("DC", "net")]),
            ],
        ),
        ("CN=Lu\\C4\\8Di\\C4\\87", vec![rdn(&[("CN", "Lučić")])]),
        (
            "  CN  =  Lu\\C4\\8Di\\C4\\87  ",
            vec![rdn(&[("CN", "Lučić")])],
        ),
        (
            "   A   =   1   ,   B   =   2   ",
            vec![rdn(&[("A", "1")]), rdn(&[("B", "2")])],
        ),
        (
            "   A   =   1   +   B   =   2   ",
            vec![rdn(&[("A", "1"), ("B", "2")])],
        ),
        (
            r"   \ \ A\ \    =   \ \ 1\ \    ,   \ \ B\ \    =   \ \ 2\ \    ",
            vec![rdn(&[("  A  ", "  1  ")]), rdn(&[("  B  ", "  2  ")])],
        ),
        (
            r"   \ \ A\ \    =   \ \ 1\ \    +   \ \ B\ \    =   \ \ 2\ \    ",
            vec![rdn(&[("  A  ", "  1  "), ("  B  ", "  2  ")])],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse(text).rdns, want, "parsed DN {text:?}");
    }
}

port!("internal/ldap/dn_test.go::TestErrorDNParsing" => error_dn_parsing);
fn error_dn_parsing() {
    let cases = [
        ("*", "DN ended with incomplete type, value pair"),
        (
            "cn=Jim\\0Test",
            "failed to decode escaped character: encoding/hex: invalid byte: U+0054 'T'",
        ),
        ("cn=Jim\\0", "got corrupted escaped character"),
        (
            "DC=example,=net",
            "DN ended with incomplete type, value pair",
        ),
        ("test,DC=example,DC=com", "incomplete type, value pair"),
        ("=test,DC=example,DC=com", "incomplete type, value pair"),
    ];
    for (text, want) in cases {
        match Dn::parse(text) {
            Ok(_) => panic!("Expected {text} to fail parsing but succeeded"),
            Err(e) => assert_eq!(e, want, "Unexpected error on {text}"),
        }
    }
}

port!("internal/ldap/dn_test.go::TestDNEqual" => dn_equal);
fn dn_equal() {
    let cases = [
        ("", "", true),
        ("o=A", "o=A", true),
        ("o=A", "o=B", false),
        ("o=A,o=B", "o=A,o=B", true),
        ("o=A,o=B", "o=A,o=C", false),
        ("o=A+o=B", "o=A+o=B", true),
        ("o=A+o=B", "o=A+o=C", false),
        ("o=A", "O=A", true),
        ("o=A,o=B", "o=A,O=B", true),
        ("o=A+o=B", "o=A+O=B", true),
        ("o=a", "O=A", false),
        ("o=a,o=B", "o=A,O=B", false),
        ("o=a+o=B", "o=A+O=B", false),
        ("o=A+o=B", "O=B+o=A", true),
        ("o=A+o=B", "O=B+o=A+O=B", false),
        ("o=A+o=B", "O=B+o=A+O=C", false),
        ("o=A+o=B+o=C", "O=B+o=A", false),
        (
            "cn=John Doe, ou=People, dc=sun.com",
            "cn=John Doe, ou=People, dc=sun.com",
            true,
        ),
        (
            "cn=John Doe, ou=People, dc=sun.com",
            "cn=John Doe,ou=People,dc=sun.com",
            true,
        ),
        (
            "cn=John Doe, ou=People, dc=sun.com",
            "cn=John  Doe, ou=People, dc=sun.com",
            false,
        ),
    ];
    for (i, (a, b, equal)) in cases.into_iter().enumerate() {
        let (da, db) = (parse(a), parse(b));
        assert_eq!(da.equal(&db), equal, "{i}: comparing {a:?} and {b:?}");
        assert_eq!(db.equal(&da), equal, "{i}: comparing {b:?} and {a:?}");
    }
}

port!("internal/ldap/dn_test.go::TestDNAncestor" => dn_ancestor);
fn dn_ancestor() {
    let cases = [
        ("", "", false),
        ("o=A", "o=A", false),
        ("o=A,o=B", "o=A,o=B", false),
        ("o=A+o=B", "o=A+o=B", false),
        ("ou=C,ou=B,o=A", "ou=E,ou=D,ou=B,o=A", false),
        ("ou=C,ou=B,o=A", "ou=E,ou=C,ou=B,o=A", true),
    ];
    for (i, (a, b, ancestor)) in cases.into_iter().enumerate() {
        assert_eq!(
            parse(a).ancestor_of(&parse(b)),
            ancestor,
            "{i}: comparing {a:?} and {b:?}"
        );
    }
}

port!("internal/ldap/dn_test.go::TestDNReverseMatchDuplicates" => dn_reverse_match_duplicates);
fn dn_reverse_match_duplicates() {
    // Same length (3), different sets: two CN=Alice against one CN=Alice and an OU.
    let a = parse("CN=Alice,CN=Alice,O=NATS");
    let b = parse("CN=Alice,O=NATS,OU=Users");
    assert!(
        !a.rdns_match(&b),
        "Expected RDNsMatch to return false for different RDN sets"
    );
}
