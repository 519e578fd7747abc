//! Ports of nats-server `conf/parse_test.go`: the parsed tree, variables, includes,
//! pedantic positions, errors and the config digest.

use natsd::config::conf::digest::{config_digest, to_go_json};
use natsd::config::conf::{
    parse, parse_bytes, parse_file, parse_file_with_checks_digest, parse_with_checks, DateTime,
    Kind, Map, Value,
};
use ported::port;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

fn s(v: &str) -> Value {
    Value::plain(Kind::String(v.to_string()))
}

fn int(v: i64) -> Value {
    Value::plain(Kind::Integer(v))
}

fn float(v: f64) -> Value {
    Value::plain(Kind::Float(v))
}

fn boolean(v: bool) -> Value {
    Value::plain(Kind::Bool(v))
}

fn arr(v: Vec<Value>) -> Value {
    Value::plain(Kind::Array(v))
}

fn tree(entries: Vec<(&str, Value)>) -> Map {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::plain(Kind::Map(tree(entries)))
}

/// Go's `test`: plain parsing gives `ex`; pedantic parsing succeeds and encodes to the
/// same JSON.
fn check(data: &str, ex: &Map) {
    let m = parse(data).unwrap_or_else(|e| panic!("Received err: {e}"));
    assert_eq!(&m, ex, "Not Equal:\nReceived: '{m:?}'\nExpected: '{ex:?}'");
    let n = parse_with_checks(data).unwrap_or_else(|e| panic!("Received err: {e}"));
    assert_eq!(to_go_json(&m), to_go_json(&n));
}

/// Files written beside the main config: (name, contents).
type Includes<'a> = Vec<(&'a str, &'a str)>;

/// A fresh directory for one test's files.
fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "natsd-conf-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(&p, contents).expect("write file");
    p.to_string_lossy().into_owned()
}

/// Writes `input` as the main config and `includes` beside it; returns the main path.
fn write_with_includes(tag: &str, input: &str, includes: &[(&str, &str)]) -> String {
    let dir = temp_dir(tag);
    for (name, contents) in includes {
        write(&dir, name, contents);
    }
    write(&dir, "nats.conf-main", input)
}

port!("conf/parse_test.go::TestSimpleTopLevel" => simple_top_level);
fn simple_top_level() {
    let ex = tree(vec![
        ("foo", s("1")),
        ("bar", float(2.2)),
        ("baz", boolean(true)),
        ("boo", int(22)),
    ]);
    check("foo='1'; bar=2.2; baz=true; boo=22", &ex);
}

port!("conf/parse_test.go::TestBools" => bools);
fn bools() {
    let ex = tree(vec![("foo", boolean(true))]);
    check("foo=true", &ex);
    check("foo=TRUE", &ex);
    check("foo=true", &ex);
    check("foo=yes", &ex);
    check("foo=on", &ex);
}

const VAR_SAMPLE: &str = "
  index = 22
  foo = $index
";

port!("conf/parse_test.go::TestSimpleVariable" => simple_variable);
fn simple_variable() {
    let ex = tree(vec![("index", int(22)), ("foo", int(22))]);
    check(VAR_SAMPLE, &ex);
}

const VAR_NESTED_SAMPLE: &str = "
  index = 22
  nest {
    index = 11
    foo = $index
  }
  bar = $index
";

port!("conf/parse_test.go::TestNestedVariable" => nested_variable);
fn nested_variable() {
    let ex = tree(vec![
        ("index", int(22)),
        ("nest", map(vec![("index", int(11)), ("foo", int(11))])),
        ("bar", int(22)),
    ]);
    check(VAR_NESTED_SAMPLE, &ex);
}

port!("conf/parse_test.go::TestMissingVariable" => missing_variable);
fn missing_variable() {
    let e = parse("foo=$index").expect_err("Expected an error for a missing variable, got none");
    assert!(
        e.to_string().starts_with("variable reference"),
        "Wanted a variable reference err, got {e:?}"
    );
}

// Each environment test uses its own variable: ports run in parallel in one process.

port!("conf/parse_test.go::TestEnvVariable" => env_variable);
fn env_variable() {
    let ex = tree(vec![("foo", int(22))]);
    let evar = "__UNIQ22_ENV_INT__";
    std::env::set_var(evar, "22");
    check(&format!("foo = ${evar}"), &ex);
    std::env::remove_var(evar);
}

port!("conf/parse_test.go::TestEnvVariableString" => env_variable_string);
fn env_variable_string() {
    let ex = tree(vec![("foo", s("xyz"))]);
    let evar = "__UNIQ22_ENV_STRING__";
    std::env::set_var(evar, "xyz");
    check(&format!("foo = ${evar}"), &ex);
    std::env::remove_var(evar);
}

port!("conf/parse_test.go::TestEnvVariableStringStartingWithNumber" => env_variable_string_starting_with_number);
fn env_variable_string_starting_with_number() {
    let evar = "__UNIQ22_ENV_NUMSTR__";
    std::env::set_var(evar, "3xyz");
    // As in the Go test, the text names the variable `%s` literally, which is not set.
    let r = parse("foo = $%s");
    std::env::remove_var(evar);
    assert!(
        r.is_err(),
        "Expected err not being able to process string: {r:?}"
    );
}

port!("conf/parse_test.go::TestEnvVariableStringStartingWithNumberAndSizeUnit" => env_variable_string_starting_with_number_and_size_unit);
fn env_variable_string_starting_with_number_and_size_unit() {
    let ex = tree(vec![("foo", s("3Gyz"))]);
    let evar = "__UNIQ22_ENV_SIZESTR__";
    std::env::set_var(evar, "3Gyz");
    check(&format!("foo = ${evar}"), &ex);
    std::env::remove_var(evar);
}

port!("conf/parse_test.go::TestEnvVariableStringStartingWithNumberUsingQuotes" => env_variable_string_starting_with_number_using_quotes);
fn env_variable_string_starting_with_number_using_quotes() {
    let ex = tree(vec![("foo", s("3xyz"))]);
    let evar = "__UNIQ22_ENV_QUOTED__";
    std::env::set_var(evar, "'3xyz'");
    check(&format!("foo = ${evar}"), &ex);
    std::env::remove_var(evar);
}

port!("conf/parse_test.go::TestBcryptVariable" => bcrypt_variable);
fn bcrypt_variable() {
    let ex = tree(vec![("password", s("$2a$11$ooo"))]);
    check("password: $2a$11$ooo", &ex);
}

const EASYNUM: &str = "
k = 8k
kb = 4kb
ki = 3ki
kib = 4ki
m = 1m
mb = 2MB
mi = 2Mi
mib = 64MiB
g = 2g
gb = 22GB
gi = 22Gi
gib = 22GiB
tb = 22TB
ti = 22Ti
tib = 22TiB
pb = 22PB
pi = 22Pi
pib = 22PiB
";

port!("conf/parse_test.go::TestConvenientNumbers" => convenient_numbers);
fn convenient_numbers() {
    let ex = tree(vec![
        ("k", int(8 * 1000)),
        ("kb", int(4 * 1024)),
        ("ki", int(3 * 1024)),
        ("kib", int(4 * 1024)),
        ("m", int(1000 * 1000)),
        ("mb", int(2 * 1024 * 1024)),
        ("mi", int(2 * 1024 * 1024)),
        ("mib", int(64 * 1024 * 1024)),
        ("g", int(2 * 1000 * 1000 * 1000)),
        ("gb", int(22 * 1024 * 1024 * 1024)),
        ("gi", int(22 * 1024 * 1024 * 1024)),
        ("gib", int(22 * 1024 * 1024 * 1024)),
        ("tb", int(22 * 1024 * 1024 * 1024 * 1024)),
        ("ti", int(22 * 1024 * 1024 * 1024 * 1024)),
        ("tib", int(22 * 1024 * 1024 * 1024 * 1024)),
        ("pb", int(22 * 1024 * 1024 * 1024 * 1024 * 1024)),
        ("pi", int(22 * 1024 * 1024 * 1024 * 1024 * 1024)),
        ("pib", int(22 * 1024 * 1024 * 1024 * 1024 * 1024)),
    ]);
    check(EASYNUM, &ex);
}

port!("conf/parse_test.go::TestParseFileWithChecksDigestPreservesConfigKeyUsedAsVariable" => parse_file_with_checks_digest_preserves_config_key_used_as_variable);
fn parse_file_with_checks_digest_preserves_config_key_used_as_variable() {
    let dir = temp_dir("digest-var");
    let conf = write(
        &dir,
        "nats.conf",
        "\n\t\tport = 4222\n\t\tmonitor_port = $port\n\t",
    );
    let (m, _) = parse_file_with_checks_digest(&conf).expect("parses");
    assert!(
        m.contains_key("port"),
        "expected config key used as a variable reference to be preserved"
    );
}

const SAMPLE1: &str = r#"
foo  {
  host {
    ip   = '127.0.0.1'
    port = 4242
  }
  servers = [ "a.com", "b.com", "c.com"]
}
"#;

port!("conf/parse_test.go::TestSample1" => sample1);
fn sample1() {
    let ex = tree(vec![(
        "foo",
        map(vec![
            (
                "host",
                map(vec![("ip", s("127.0.0.1")), ("port", int(4242))]),
            ),
            ("servers", arr(vec![s("a.com"), s("b.com"), s("c.com")])),
        ]),
    )]);
    check(SAMPLE1, &ex);
}

const CLUSTER: &str = "
cluster {
  port: 4244

  authorization {
    user: route_user
    password: top_secret
    timeout: 1
  }

  # Routes are solicited from here; peers connect to us with
  # the credentials above.

  // both comment styles

  routes = [
    nats-route://foo:bar@apcera.me:4245
    nats-route://foo:bar@apcera.me:4246
  ]
}
";

port!("conf/parse_test.go::TestSample2" => sample2);
fn sample2() {
    let ex = tree(vec![(
        "cluster",
        map(vec![
            ("port", int(4244)),
            (
                "authorization",
                map(vec![
                    ("user", s("route_user")),
                    ("password", s("top_secret")),
                    ("timeout", int(1)),
                ]),
            ),
            (
                "routes",
                arr(vec![
                    s("nats-route://foo:bar@apcera.me:4245"),
                    s("nats-route://foo:bar@apcera.me:4246"),
                ]),
            ),
        ]),
    )]);
    check(CLUSTER, &ex);
}

const SAMPLE3: &str = r#"
foo  {
  expr = '(true == "false")'
  text = 'This is a multi-line
text block.'
}
"#;

port!("conf/parse_test.go::TestSample3" => sample3);
fn sample3() {
    let ex = tree(vec![(
        "foo",
        map(vec![
            ("expr", s("(true == \"false\")")),
            ("text", s("This is a multi-line\ntext block.")),
        ]),
    )]);
    check(SAMPLE3, &ex);
}

const SAMPLE4: &str = r#"
  array [
    { abc: 123 }
    { xyz: "word" }
  ]
"#;

port!("conf/parse_test.go::TestSample4" => sample4);
fn sample4() {
    let ex = tree(vec![(
        "array",
        arr(vec![
            map(vec![("abc", int(123))]),
            map(vec![("xyz", s("word"))]),
        ]),
    )]);
    check(SAMPLE4, &ex);
}

const SAMPLE5: &str = "
  now = 2016-05-04T18:53:41Z
  gmt = false

";

port!("conf/parse_test.go::TestSample5" => sample5);
fn sample5() {
    let dt = DateTime::parse_zulu(b"2016-05-04T18:53:41Z").expect("valid date");
    let ex = tree(vec![
        ("now", Value::plain(Kind::DateTime(dt))),
        ("gmt", boolean(false)),
    ]);
    check(SAMPLE5, &ex);
}

const ALICE_HASH: &str = "$2a$10$UHR6GhotWhpLsKtVP0/i6.Nh9.fuY73cWjLoJjb2sKT8KISBcUW5q";
const BOB_HASH: &str = "$2a$11$dZM98SpGeI7dCFFGSpt.JObQcix8YHml4TBUZoge9R1uxnMIln5ly";

/// The Go package's `simple.conf` and its `includes/`, written to a temp directory (same
/// keys, values and line layout); returns the directory.
fn write_simple_conf_fixture(tag: &str) -> PathBuf {
    let dir = temp_dir(tag);
    write(
        &dir,
        "includes/passwords.conf",
        &format!("# two bcrypt hashes\nALICE_PASS: {ALICE_HASH}\nBOB_PASS: {BOB_HASH}\n"),
    );
    write(
        &dir,
        "includes/users.conf",
        "# users\n\ninclude ./passwords.conf;\n\nusers = [\n  {user: alice, password: $ALICE_PASS}\n  {user: bob,   password: $BOB_PASS}\n]\n",
    );
    write(
        &dir,
        "simple.conf",
        "listen: 127.0.0.1:4222\n\nauthorization {\n  include 'includes/users.conf' # from another file\n  timeout: 0.5\n}\n",
    );
    dir
}

port!("conf/parse_test.go::TestIncludes" => includes);
fn includes() {
    let ex = tree(vec![
        ("listen", s("127.0.0.1:4222")),
        (
            "authorization",
            map(vec![
                ("ALICE_PASS", s(ALICE_HASH)),
                ("BOB_PASS", s(BOB_HASH)),
                (
                    "users",
                    arr(vec![
                        map(vec![("user", s("alice")), ("password", s(ALICE_HASH))]),
                        map(vec![("user", s("bob")), ("password", s(BOB_HASH))]),
                    ]),
                ),
                ("timeout", float(0.5)),
            ]),
        ),
    ]);
    let dir = write_simple_conf_fixture("includes");
    let m = parse_file(&dir.join("simple.conf").to_string_lossy())
        .unwrap_or_else(|e| panic!("Received err: {e}"));
    assert_eq!(m, ex, "Not Equal:\nReceived: '{m:?}'\nExpected: '{ex:?}'");
}

const VAR_INCLUDED_VARIABLES_SAMPLE: &str = r#"
authorization {

  include "./includes/passwords.conf"

  CAROL_PASS: foo

  users = [
   {user: alice, password: $ALICE_PASS}
   {user: bob,   password: $BOB_PASS}
   {user: carol, password: $CAROL_PASS}
  ]
}
"#;

port!("conf/parse_test.go::TestIncludeVariablesWithChecks" => include_variables_with_checks);
fn include_variables_with_checks() {
    // Go parses with no file name, so the include resolves from its package directory;
    // here the text is parsed as a file of the fixture directory.
    let dir = write_simple_conf_fixture("include-vars");
    let main = dir.join("main.conf").to_string_lossy().into_owned();
    let m = parse_bytes(VAR_INCLUDED_VARIABLES_SAMPLE.as_bytes(), &main, true)
        .unwrap_or_else(|e| panic!("Received err: {e}"));
    let auth = m
        .get("authorization")
        .expect("Expected \"authorization\" to be in the config");
    let expect_key_val = |key: &str, val: &str, line: usize, pos: i64| {
        let inner = auth.as_map().expect("a map");
        let v = inner
            .get(key)
            .unwrap_or_else(|| panic!("Expected key {key:?}"));
        assert_eq!(v.pos.line, line, "Expected token to be at line {line}");
        assert_eq!(v.pos.col, pos, "Expected token to be at position {pos}");
        assert_eq!(v.as_str(), Some(val));
    };
    expect_key_val("ALICE_PASS", ALICE_HASH, 2, 1);
    expect_key_val("BOB_PASS", BOB_HASH, 3, 1);
    expect_key_val("CAROL_PASS", "foo", 6, 3);
}

port!("conf/parse_test.go::TestParserNoInfiniteLoop" => parser_no_infinite_loop);
fn parser_no_infinite_loop() {
    for test in ["A@@Føøøø?˛ø:{øøøø˙˙", "include \"9/\u{fffd}"] {
        let e = parse(test).expect_err("expected an error");
        assert!(
            e.to_string().contains("Unexpected EOF"),
            "expected unexpected eof error, got {e}"
        );
    }
}

port!("conf/parse_test.go::TestParseWithNoValuesAreInvalid" => parse_with_no_values_are_invalid);
fn parse_with_no_values_are_invalid() {
    let cases = [
        (
            "invalid key without values",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_string(),
            "config is invalid (:1:41)",
        ),
        (
            "invalid untrimmed key without values",
            "              aaaaaaaaaaaaaaaaaaaaaaaaaaa".to_string(),
            "config is invalid (:1:41)",
        ),
        (
            "invalid untrimmed key without values",
            "     aaaaaaaaaaaaaaaaaaaaaaaaaaa         ".to_string(),
            "config is invalid (:1:41)",
        ),
        (
            "invalid keys after comments",
            "\n          \t\t# with comments and no spaces to create key values\n         \t\t# is also an invalid config.\n         \t\taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n                        ".to_string(),
            "config is invalid (:5:25)",
        ),
        (
            "comma separated without values are invalid",
            "\n                        a,a,a,a,a,a,a,a,a,a,a\n                        ".to_string(),
            "config is invalid (:3:25)",
        ),
    ];
    for (name, conf, want) in cases {
        let e = parse_bytes(conf.as_bytes(), "", true)
            .expect_err(&format!("{name}: expected an error"));
        assert!(
            e.to_string().contains(want),
            "{name}: expected invalid conf error, got: {e}"
        );
    }
}

port!("conf/parse_test.go::TestParseWithNoValuesEmptyConfigsAreValid" => parse_with_no_values_empty_configs_are_valid);
fn parse_with_no_values_empty_configs_are_valid() {
    let cases = [
        ("empty conf", ""),
        ("empty conf with line breaks", "\n\n\n                        "),
        (
            "just comments with no values",
            "\n                        # just comments with no values\n                        # is still valid.\n                        ",
        ),
    ];
    for (name, conf) in cases {
        if let Err(e) = parse_bytes(conf.as_bytes(), "", true) {
            panic!("{name}: unexpected error: {e}");
        }
    }
}

port!("conf/parse_test.go::TestParseWithTrailingBracketsAreValid" => parse_with_trailing_brackets_are_valid);
fn parse_with_trailing_brackets_are_valid() {
    let cases = [
        ("empty conf", "{}"),
        (
            "just comments with no values",
            "\n                        {\n                        # comments in the body\n                        }\n                        ",
        ),
        (
            "trailing brackets after config",
            "\n                        accounts { users = [{}]}\n                        }\n                        ",
        ),
        (
            "wrapped in brackets",
            "{\n                          accounts { users = [{}]}\n                        }\n                        ",
        ),
    ];
    for (name, conf) in cases {
        if let Err(e) = parse_bytes(conf.as_bytes(), "", true) {
            panic!("{name}: unexpected error: {e}");
        }
    }
}

port!("conf/parse_test.go::TestParseWithNoValuesIncludes" => parse_with_no_values_includes);
fn parse_with_no_values_includes() {
    let cases: [(&str, Includes, &str, &str); 2] = [
        (
            "# includes\n\t\t\taccounts {\n                          foo { include 'foo.conf'}\n                          bar { users = [{user = \"bar\"}] }\n                          quux { include 'quux.conf'}\n                        }\n                        ",
            vec![("foo.conf", ""), ("quux.conf", "?????????????")],
            "error parsing include file 'quux.conf', config is invalid",
            "quux.conf:1:1",
        ),
        (
            "# includes\n\t\t\taccounts {\n                          foo { include 'foo.conf'}\n                          bar { include 'bar.conf'}\n                          quux { include 'quux.conf'}\n                        }\n                        ",
            vec![
                ("foo.conf", ""),
                ("bar.conf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                (
                    "quux.conf",
                    "\n                                   # just some comments,\n                                   # and no key values also ok.\n                                ",
                ),
            ],
            "error parsing include file 'bar.conf', config is invalid",
            "bar.conf:1:34",
        ),
    ];
    for (input, includes, want, linepos) in cases {
        let main = write_with_includes("no-values-includes", input, &includes);
        let e = parse_bytes(input.as_bytes(), &main, true).expect_err("expected an error");
        let text = e.to_string();
        assert!(
            text.contains(want) && text.contains(linepos),
            "expected invalid conf error, got: {text}"
        );
    }
}

port!("conf/parse_test.go::TestJSONParseCompat" => json_parse_compat);
fn json_parse_compat() {
    let cluster_json = "\n                        {\n                          \"http_port\": 8227,\n                          \"port\": 4227,\n                          \"write_deadline\": \"1h\",\n                          \"cluster\": {\n                            \"port\": 6222,\n                            \"routes\": [\n                              \"nats://127.0.0.1:4222\",\n                              \"nats://127.0.0.1:4223\",\n                              \"nats://127.0.0.1:4224\"\n                            ]\n                          }\n                        }\n                        ";
    let js_json = "{\n                          \"jetstream\": {\n                            \"store_dir\": \"/tmp/nats\"\n                            \"max_mem\": 1000000,\n                          },\n                          \"port\": 4222,\n                          \"server_name\": \"nats1\"\n                        }\n                        ";
    let includes_conf = "\n                        accounts {\n                          foo  { include 'foo.json'  }\n                          bar  { include 'bar.json'  }\n                          quux { include 'quux.json' }\n                        }\n                        ";
    let cases: Vec<(&str, &str, Includes, Map)> = vec![
        (
            "JSON with nested blocks",
            cluster_json,
            vec![],
            tree(vec![
                ("http_port", int(8227)),
                ("port", int(4227)),
                ("write_deadline", s("1h")),
                (
                    "cluster",
                    map(vec![
                        ("port", int(6222)),
                        (
                            "routes",
                            arr(vec![
                                s("nats://127.0.0.1:4222"),
                                s("nats://127.0.0.1:4223"),
                                s("nats://127.0.0.1:4224"),
                            ]),
                        ),
                    ]),
                ),
            ]),
        ),
        (
            "JSON with nested blocks",
            js_json,
            vec![],
            tree(vec![
                (
                    "jetstream",
                    map(vec![
                        ("store_dir", s("/tmp/nats")),
                        ("max_mem", int(1_000_000)),
                    ]),
                ),
                ("port", int(4222)),
                ("server_name", s("nats1")),
            ]),
        ),
        ("JSON empty object in one line", "{}", vec![], tree(vec![])),
        (
            "JSON empty object with line breaks",
            "\n                        {\n                        }\n                        ",
            vec![],
            tree(vec![]),
        ),
        (
            "JSON includes",
            includes_conf,
            vec![
                ("foo.json", "{ \"users\": [ {\"user\": \"foo\"} ] }"),
                (
                    "bar.json",
                    "{\n                                  \"users\": [ {\"user\": \"bar\"} ]\n                                }",
                ),
                ("quux.json", "{}"),
            ],
            tree(vec![(
                "accounts",
                map(vec![
                    (
                        "foo",
                        map(vec![("users", arr(vec![map(vec![("user", s("foo"))])]))]),
                    ),
                    (
                        "bar",
                        map(vec![("users", arr(vec![map(vec![("user", s("bar"))])]))]),
                    ),
                    ("quux", map(vec![])),
                ]),
            )]),
        ),
    ];
    for (name, input, includes, expected) in cases {
        let main = write_with_includes("json-compat", input, &includes);
        let m = parse_file(&main).unwrap_or_else(|e| panic!("{name}: Unexpected error: {e}"));
        assert_eq!(
            m, expected,
            "{name}: Not Equal:\nReceived: '{m:?}'\nExpected: '{expected:?}'"
        );
    }
}

port!("conf/parse_test.go::TestBlocks" => blocks);
fn blocks() {
    let listen = || tree(vec![("listen", s("0.0.0.0:4222"))]);
    let cases: Vec<(&str, &str, Map)> = vec![
        ("inline block", "{ listen: 0.0.0.0:4222 }", listen()),
        (
            "newline block",
            "{\n\t\t\t\tlisten: 0.0.0.0:4222\n\t\t\t }",
            listen(),
        ),
        (
            "newline block with trailing comment",
            "\n\t\t\t{\n\t\t\t\tlisten: 0.0.0.0:4222\n\t\t\t}\n\t\t\t# wibble\n\t\t\t",
            listen(),
        ),
        (
            "nested newline blocks with trailing comment",
            "\n\t\t\t{\n\t\t\t\t{\n\t\t\t\t\tlisten: 0.0.0.0:4222 // random comment\n\t\t\t\t}\n\t\t\t\t# wibble1\n\t\t\t}\n\t\t\t# wibble2\n\t\t\t",
            listen(),
        ),
        (
            "top line values in block scope",
            "\n\t\t\t{\n\t\t\t  \"debug\":              False\n\t\t\t  \"prof_port\":          8221\n\t\t\t  \"server_name\":        \"aws-useast2-natscj1-1\"\n\t\t\t}\n\t\t\t",
            tree(vec![
                ("debug", boolean(false)),
                ("prof_port", int(8221)),
                ("server_name", s("aws-useast2-natscj1-1")),
            ]),
        ),
        (
            "comment in block scope after value parse",
            "\n\t\t\t{\n\t\t\t  \"debug\":              False\n\t\t\t  \"server_name\":        \"gcp-asianortheast3-natscj1-1\"\n\n\t\t\t  # Profile port specification.\n\t\t\t  \"prof_port\":          8221\n\t\t\t}\n\t\t\t",
            tree(vec![
                ("debug", boolean(false)),
                ("prof_port", int(8221)),
                ("server_name", s("gcp-asianortheast3-natscj1-1")),
            ]),
        ),
    ];
    for (name, input, expected) in cases {
        let dir = temp_dir("blocks");
        let path = write(&dir, "nats.conf-block", input);
        // Every case is valid: an error fails the test (Go's expected error texts are
        // empty, so any error would have been reported there too).
        let m = parse_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            m, expected,
            "{name}: Not Equal:\nReceived: '{m:?}'\nExpected: '{expected:?}'"
        );
    }
}

port!("conf/parse_test.go::TestParseDigest" => parse_digest);
fn parse_digest() {
    let cases: Vec<(&str, Includes, &str)> = vec![
        (
            "foo = bar",
            vec![],
            "sha256:226e49e13d16e5e8aa0d62e58cd63361bf097d3e2b2444aa3044334628a2e8de",
        ),
        (
            r#"# Comments and whitespace have no effect
                        foo = bar
                        "#,
            vec![],
            "sha256:226e49e13d16e5e8aa0d62e58cd63361bf097d3e2b2444aa3044334628a2e8de",
        ),
        (
            r#"# Syntax changes have no effect
                        'foo': 'bar'
                        "#,
            vec![],
            "sha256:226e49e13d16e5e8aa0d62e58cd63361bf097d3e2b2444aa3044334628a2e8de",
        ),
        (
            r#"# Syntax changes have no effect
                        { 'foo': 'bar' }
                        "#,
            vec![],
            "sha256:226e49e13d16e5e8aa0d62e58cd63361bf097d3e2b2444aa3044334628a2e8de",
        ),
        (
            r#"# substitutions
                        BAR_USERS = { users = [ {user = "bar"} ]}
                        hello = 'world'
                        accounts {
                          QUUX_USERS = [ { user: quux }]
                          bar = $BAR_USERS
                          quux = { users = $QUUX_USERS }
                        }
                        very { nested { env { VAR = 'NESTED', quux = $VAR }}}
                        "#,
            vec![],
            "sha256:bddb282343249c26d3edcef9bfaa9d2711505fc67210380e871405ba394a9186",
        ),
        (
            r#"# substitutions, same as previous one without env vars.
                        hello = 'world'
                        accounts {
                          bar  = { users = [ { user = "bar" } ]}
                          quux = { users = [ { user: quux   } ]}
                        }
                        very { nested { env { quux = 'NESTED' }}}
                        "#,
            vec![],
            "sha256:34f8faf3f269fe7509edc4742f20c8c4a7ad51fe21f8b361764314b533ac3ab5",
        ),
        (
            r#"# substitutions
                        BAR_USERS = { users = [ {user = "foo"} ]}
                        bar = $BAR_USERS
                        accounts {
                          users = $BAR_USERS
                        }
                        "#,
            vec![],
            "sha256:b0e2ba0b8ec2cb75681b5c5d61789cda0c9942c2f9fe16cdb7f6703364485360",
        ),
        (
            r#"# substitutions
                        bar = { users = [ {user = "foo"} ]}
                        accounts {
                          users = { users = [ {user = "foo"} ]}
                        }
                        "#,
            vec![],
            "sha256:f5d943b4ed22b80c6199203f8a7eaa8eb68ef7b2d46ef6b1b26f05e21f8beb13",
        ),
        (
            r#"# includes
			accounts {
                          foo { include 'foo.conf'}
                          bar { users = [{user = "bar"}] }
                          quux { include 'quux.conf'}
                        }
                        "#,
            vec![
                ("foo.conf", " users = [{user = \"foo\"}]"),
                ("quux.conf", " users = [{user = \"quux\"}]"),
            ],
            "sha256:e72d70c91b64b0f880f86decb95ec2600cbdcf8bdcd2355fce5ebc54a84a77e9",
        ),
        (
            r#"# includes
			accounts {
                          foo { include 'foo.conf'}
                          bar { include 'bar.conf'}
                          quux { include 'quux.conf'}
                        }
                        "#,
            vec![
                ("foo.conf", " users = [{user = \"foo\"}]"),
                ("bar.conf", " users = [{user = \"bar\"}]"),
                ("quux.conf", " users = [{user = \"quux\"}]"),
            ],
            "sha256:e72d70c91b64b0f880f86decb95ec2600cbdcf8bdcd2355fce5ebc54a84a77e9",
        ),
    ];
    for (input, includes, digest) in cases {
        let main = write_with_includes("digest", input, &includes);
        let (m, got) = parse_file_with_checks_digest(&main).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, digest, "\ngot: {got}\nexpected: {digest}");
        assert_eq!(config_digest(&m), digest);
    }
}
