//! Ports of nats-server `server/opts_test.go` that are about reading options from
//! configuration files for the settings natsd has.

use natsd::config::file::{apply_config_file, process_config_file, ConfigFileError};
use natsd::config::options::{DEFAULT_HOST, DEFAULT_PORT};
use natsd::config::Options;
use ported::port;
use ported::support::{create_conf_file, load_config};
use std::time::Duration;

fn path_str(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Go's `ProcessConfigFile` on a file holding `content`.
fn process(content: &str) -> Result<Options, ConfigFileError> {
    process_config_file(&path_str(&create_conf_file(content.as_bytes())))
}

port!("server/opts_test.go::TestDynamicPortOnListen" => dynamic_port_on_listen);
fn dynamic_port_on_listen() {
    let opts = process(
        "# -1 works in listen directives too.\nlisten: 10.0.1.22:-1\n\nhttp: -1\nhttps: :-1\n",
    )
    .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));
    assert_eq!(opts.port, -1, "Received incorrect port");
    assert_eq!(opts.http_port, -1, "Received incorrect monitoring port");
    assert_eq!(
        opts.https_port, -1,
        "Received incorrect secure monitoring port"
    );
}

port!("server/opts_test.go::TestListenPortOnlyConfig" => listen_port_only_config);
fn listen_port_only_config() {
    let opts = process("listen: 8922\n")
        .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));
    assert_eq!(opts.host, DEFAULT_HOST, "Received incorrect host");
    assert_eq!(
        natsd::monitor::http_host(&opts),
        DEFAULT_HOST,
        "Received incorrect host"
    );
    assert_eq!(opts.port, 8922, "Received incorrect port");
}

port!("server/opts_test.go::TestListenPortWithColonConfig" => listen_port_with_colon_config);
fn listen_port_with_colon_config() {
    let opts = process("listen: :8922\n")
        .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));
    assert_eq!(opts.host, DEFAULT_HOST, "Received incorrect host");
    assert_eq!(
        natsd::monitor::http_host(&opts),
        DEFAULT_HOST,
        "Received incorrect host"
    );
    assert_eq!(opts.port, 8922, "Received incorrect port");
}

port!("server/opts_test.go::TestListenMonitoringDefault" => listen_monitoring_default);
fn listen_monitoring_default() {
    let opts = Options {
        host: "10.0.1.22".to_string(),
        ..Options::default()
    };
    assert_eq!(opts.host, "10.0.1.22", "Received incorrect host");
    assert_eq!(
        natsd::monitor::http_host(&opts),
        "10.0.1.22",
        "Received incorrect host"
    );
    assert_eq!(
        opts.port,
        i32::from(DEFAULT_PORT),
        "Received incorrect port"
    );
}

port!("server/opts_test.go::TestParseWriteDeadline" => parse_write_deadline);
fn parse_write_deadline() {
    let e = process("write_deadline: \"1x\"").expect_err("Expected error, got none");
    assert!(
        e.to_string().contains("parsing"),
        "Expected error related to parsing, got {e}"
    );
    let opts =
        process("write_deadline: \"1s\"").unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    assert_eq!(opts.write_deadline, Duration::from_secs(1));
    // A number of seconds is still accepted (with a warning).
    let opts = process("write_deadline: 2").unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    assert_eq!(opts.write_deadline, Duration::from_secs(2));
}

port!("server/opts_test.go::TestEmptyConfig" => empty_config);
fn empty_config() {
    let opts = process_config_file("")
        .unwrap_or_else(|e| panic!("Expected no error from empty config, got: {e}"));
    assert_eq!(
        opts.config_file, None,
        "Expected empty config, got: {opts:?}"
    );
}

port!("server/opts_test.go::TestMalformedListenAddress" => malformed_listen_address);
fn malformed_listen_address() {
    let r = process("# garbage listen address\nlisten: 10.0.1.22:foo\n");
    assert!(
        r.is_err(),
        "Expected an error reading config file: got {r:?}"
    );
}

port!("server/opts_test.go::TestPanic" => panic);
fn panic() {
    match process("port: \"this_string_trips_a_panic\"") {
        Ok(o) => panic!("Expected an error reading config file: got {o:?}"),
        Err(e) => assert!(
            e.to_string().contains(":1:0: interface conversion:"),
            "expected an interface conversion error at the key, got {e}"
        ),
    }
}

port!("server/opts_test.go::TestMaxClosedClients" => max_closed_clients);
fn max_closed_clients() {
    let opts = process("max_closed_clients: 5").expect("no error");
    assert_eq!(opts.max_closed_clients, 5);
}

port!("server/opts_test.go::TestPingIntervalOld" => ping_interval_old);
fn ping_interval_old() {
    // Go reports a config error that holds one warning and no error; natsd returns the
    // warnings when there is no error.
    let conf = create_conf_file(b"ping_interval: 5");
    let mut opts = Options::default();
    let warnings = apply_config_file(&mut opts, &path_str(&conf))
        .unwrap_or_else(|e| panic!("expected processConfigErr to have no error: {e}"));
    assert_eq!(warnings.len(), 1, "expected one warning: {warnings:?}");
    assert_eq!(opts.ping_interval, Duration::from_secs(5));
}

port!("server/opts_test.go::TestPingIntervalNew" => ping_interval_new);
fn ping_interval_new() {
    let conf = create_conf_file(b"ping_interval: \"5m\"");
    let mut opts = Options::default();
    let warnings = apply_config_file(&mut opts, &path_str(&conf)).expect("expected no error");
    assert!(warnings.is_empty(), "expected no warning: {warnings:?}");
    assert_eq!(opts.ping_interval, Duration::from_secs(5 * 60));
}

port!("server/opts_test.go::TestLargeMaxControlLine" => large_max_control_line);
fn large_max_control_line() {
    assert!(
        process("\n\t\tmax_control_line = 3000000000\n\t").is_err(),
        "Expected an error from too large of a max_control_line entry"
    );
}

port!("server/opts_test.go::TestLargeMaxPayload" => large_max_payload);
fn large_max_payload() {
    assert!(
        process("\n\t\tmax_payload = 3000000000\n\t").is_err(),
        "Expected an error from too large of a max_payload entry"
    );
    let conf = create_conf_file(b"\n\t\tmax_payload = 100000\n\t\tmax_pending = 50000\n\t");
    let o = load_config(&conf);
    match natsd::server::Server::new(o) {
        Ok(_) => panic!("Unexpected success: max_payload above max_pending"),
        Err(e) => assert!(
            e.to_string().contains("cannot be higher"),
            "Unexpected error: {e}"
        ),
    }
}

// The environment tests use their own variable names: ports run in parallel in one
// process and must not see each other's variables.

port!("server/opts_test.go::TestVarReferencesVar" => var_references_var);
fn var_references_var() {
    let opts = process("\n\t\tA: 7890\n\t\tB: $A\n\t\tC: $B\n\t\tport: $C\n\t")
        .unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    assert_eq!(opts.port, 7890);
}

port!("server/opts_test.go::TestVarReferencesEnvVar" => var_references_env_var);
fn var_references_env_var() {
    let var = "_TEST_ENV_NATS_PORT_VRE_";
    std::env::set_var(var, "7890");
    let r = process(&format!(
        "\n\t\tA: ${var}\n\t\tB: $A\n\t\tC: $B\n\t\tport: $C\n\t"
    ));
    std::env::remove_var(var);
    let opts = r.unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    assert_eq!(opts.port, 7890);
}

port!("server/opts_test.go::TestVarReferencesSelf" => var_references_self);
fn var_references_self() {
    let e = process("A: $A").expect_err("Expected var not found error");
    assert!(
        e.to_string()
            .contains("variable reference for 'A' on line 1 can not be found"),
        "{e}"
    );
}

port!("server/opts_test.go::TestEnvVarReferencesVar" => env_var_references_var);
fn env_var_references_var() {
    let var = "_TEST_ENV_NATS_PORT_ERV_";
    std::env::set_var(var, "$P");
    let r = process(&format!("\n\t\tP: 8080\n\t\tport: ${var}\n\t"));
    std::env::remove_var(var);
    let e = r.expect_err("Expected var not found error");
    assert!(
        e.to_string()
            .contains("variable reference for 'P' on line 1 can not be found"),
        "{e}"
    );
}

port!("server/opts_test.go::TestEnvVarReferencesEnvVar" => env_var_references_env_var);
fn env_var_references_env_var() {
    let (a, b, c) = (
        "_TEST_ENV_A_EREV_",
        "_TEST_ENV_B_EREV_",
        "_TEST_ENV_C_EREV_",
    );
    std::env::set_var(a, format!("${b}"));
    std::env::set_var(b, format!("${c}"));
    std::env::set_var(c, "7890");
    let r = process(&format!("\n\t\tport: ${a}\n\t"));
    for v in [a, b, c] {
        std::env::remove_var(v);
    }
    let opts = r.unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    assert_eq!(opts.port, 7890);
}

port!("server/opts_test.go::TestEnvVarReferencesSelf" => env_var_references_self);
fn env_var_references_self() {
    let var = "_TEST_ENV_ERS_";
    std::env::set_var(var, format!("${var}"));
    let r = process(&format!("\n\t\tTEST: ${var}\n\t"));
    std::env::remove_var(var);
    let e = r.expect_err("Expected an error");
    assert!(e.to_string().contains("variable reference cycle"), "{e}");
}

port!("server/opts_test.go::TestEnvVarReferencesSelfCycle" => env_var_references_self_cycle);
fn env_var_references_self_cycle() {
    let (a, b, c) = (
        "_TEST_ENV_A_ERSC_",
        "_TEST_ENV_B_ERSC_",
        "_TEST_ENV_C_ERSC_",
    );
    std::env::set_var(a, format!("${b}"));
    std::env::set_var(b, format!("${c}"));
    std::env::set_var(c, format!("${a}"));
    let r = process(&format!("\n\t\tTEST: ${a}\n\t"));
    for v in [a, b, c] {
        std::env::remove_var(v);
    }
    let e = r.expect_err("Expected an error");
    assert!(e.to_string().contains("variable reference cycle"), "{e}");
}

port!("server/opts_test.go::TestEnvVarInclude" => env_var_include);
fn env_var_include() {
    let var = "_TEST_ENV_A_EVI_";
    std::env::set_var(var, "include x");
    let r = process(&format!("\n\t\tTEST: ${var}\n\t"));
    std::env::remove_var(var);
    let e = r.expect_err("Expected an error");
    assert!(
        e.to_string()
            .contains("Expected a top-level value to end with a new line, comment or EOF"),
        "{e}"
    );
}

port!("server/opts_test.go::TestEnvVarFromIncludedFile" => env_var_from_included_file);
fn env_var_from_included_file() {
    let (a, b) = ("_TEST_ENV_PORT_A_EVFIF_", "_TEST_ENV_PORT_B_EVFIF_");
    let include = create_conf_file(format!("\n\t\tTEST_PORT: ${a}\n\t").as_bytes());
    let name = include
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .expect("file name");
    // The main file sits beside the included one and names it relatively.
    let conf = create_conf_file(
        format!("\n\t\tinclude \"./{name}\"\n\t\tport: $TEST_PORT\n\t").as_bytes(),
    );
    assert_eq!(conf.parent(), include.parent());
    std::env::set_var(a, format!("${b}"));
    std::env::set_var(b, "7890");
    let r = process_config_file(&path_str(&conf));
    std::env::remove_var(a);
    std::env::remove_var(b);
    let opts = r.unwrap_or_else(|e| panic!("Unexpected error: {e}"));
    assert_eq!(opts.port, 7890);
}

port!("server/opts_test.go::TestRedactArgs" => redact_args);
fn redact_args() {
    // (name, input, expected)
    let mut tests: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for dash in ["-", "--"] {
        for tag in ["user", "pass", "auth"] {
            for value in ["hello", "hello world"] {
                let flag = format!("{dash}{tag}");
                tests.push((
                    format!("{dash}{tag}-space-{value:?}"),
                    vec![flag.clone(), value.to_string()],
                    vec![flag.clone(), "[REDACTED]".to_string()],
                ));
                tests.push((
                    format!("{dash}{tag}-equals-{value:?}"),
                    vec![format!("{flag}={value}")],
                    vec![format!("{flag}=[REDACTED]")],
                ));
            }
        }
    }
    let url_cases = [
        (
            "routes-single",
            "routes",
            "nats://ruser:s3cret@127.0.0.1:6222",
            "nats://[REDACTED]@127.0.0.1:6222",
        ),
        (
            "routes-no-creds",
            "routes",
            "nats://127.0.0.1:6222",
            "nats://127.0.0.1:6222",
        ),
        (
            "routes-multi",
            "routes",
            "nats://ruser:s3cret@127.0.0.1:6222, nats://ruser2:s3cret2@127.0.0.1:6223",
            "nats://[REDACTED]@127.0.0.1:6222,nats://[REDACTED]@127.0.0.1:6223",
        ),
        (
            "cluster",
            "cluster",
            "nats://cuser:s3cret@127.0.0.1:6224",
            "nats://[REDACTED]@127.0.0.1:6224",
        ),
        (
            "cluster-no-creds",
            "cluster",
            "nats://127.0.0.1:6224",
            "nats://127.0.0.1:6224",
        ),
        (
            "cluster-comma-user",
            "cluster",
            "nats://cuser,extra:s3cret@127.0.0.1:6224",
            "nats://[REDACTED]@127.0.0.1:6224",
        ),
        (
            "cluster-random-port",
            "cluster",
            "nats://cuser:s3cret@127.0.0.1:-1",
            "nats://[REDACTED]@127.0.0.1:-1",
        ),
        (
            "cluster-listen",
            "cluster_listen",
            "nats://luser:s3cret@127.0.0.1:6225",
            "nats://[REDACTED]@127.0.0.1:6225",
        ),
        (
            "cluster-listen-comma-user",
            "cluster_listen",
            "nats://luser,extra:s3cret@127.0.0.1:6225",
            "nats://[REDACTED]@127.0.0.1:6225",
        ),
        (
            "cluster-listen-random-port",
            "cluster_listen",
            "nats://luser:s3cret@127.0.0.1:-1",
            "nats://[REDACTED]@127.0.0.1:-1",
        ),
    ];
    for dash in ["-", "--"] {
        for (name, tag, input, expected) in url_cases {
            tests.push((
                format!("{dash}{name}-space"),
                vec![format!("{dash}{tag}"), input.to_string()],
                vec![format!("{dash}{tag}"), expected.to_string()],
            ));
            tests.push((
                format!("{dash}{name}-equals"),
                vec![format!("{dash}{tag}={input}")],
                vec![format!("{dash}{tag}={expected}")],
            ));
        }
    }
    for (name, input, expected) in tests {
        let mut args = input.clone();
        natsd::config::cli::redact_args(&mut args);
        assert_eq!(args, expected, "{name}: A {expected:?}\nB {args:?}");
    }
}

/// Go's `configs/authorization.conf` (server directory).
const AUTHORIZATION_CONF: &str = r#"
listen: 127.0.0.1:4222

authorization {
  super_user = {
    publish = "*"
    subscribe = ">"
  }
  req_pub_user = {
    publish = ["req.foo", "req.bar"]
    subscribe = "_INBOX.>"
  }
  default_user = {
    subscribe = "PUBLIC.>"
  }
  my_service = {
    subscribe = "my.service.req"
    publish_allow_responses: true
  }
  my_stream_service = {
    subscribe = "my.service.req"
    allow_responses: {max: 10, expires: "1m"}
  }
  default_permissions: $default_user
  users = [
    {user: alice, password: foo, permissions: $super_user}
    {user: bob,   password: bar, permissions: $req_pub_user}
    {user: susan, password: baz}
    {user: svca,  password: pc,  permissions: $my_service}
    {user: svcb,  password: sam, permissions: $my_stream_service}
  ]
}
"#;

fn user<'a>(opts: &'a Options, name: &str) -> &'a natsd::auth::User {
    opts.users
        .iter()
        .find(|u| u.username == name)
        .unwrap_or_else(|| panic!("Expected to see user {name}"))
}

fn perms(u: &natsd::auth::User) -> &natsd::auth::Permissions {
    u.permissions
        .as_ref()
        .unwrap_or_else(|| panic!("Expected {}'s permissions to be non-nil", u.username))
}

/// An allow or deny list as Go sees it: absent and empty both have no elements.
fn list(l: &Option<Vec<String>>) -> Vec<String> {
    l.clone().unwrap_or_default()
}

port!("server/opts_test.go::TestAuthorizationConfig" => authorization_config);
fn authorization_config() {
    let opts = process(AUTHORIZATION_CONF)
        .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));
    assert_eq!(opts.users.len(), 5, "Expected 5 users");

    let alice = perms(user(&opts, "alice"));
    let publish = alice.publish.as_ref().expect("Alice's publish permissions");
    assert_eq!(list(&publish.allow), ["*"]);
    let subscribe = alice
        .subscribe
        .as_ref()
        .expect("Alice's subscribe permissions");
    assert_eq!(list(&subscribe.allow), [">"]);

    perms(user(&opts, "bob"));

    // Susan inherited the default permissions.
    let susan = perms(user(&opts, "susan"));
    assert!(
        susan.publish.is_none(),
        "Expected Susan's publish permissions to be nil"
    );
    let subscribe = susan
        .subscribe
        .as_ref()
        .expect("Susan's subscribe permissions");
    assert_eq!(list(&subscribe.allow), ["PUBLIC.>"]);

    for (name, max, expires) in [
        (
            "svca",
            natsd::auth::DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
            natsd::auth::DEFAULT_ALLOW_RESPONSE_EXPIRATION,
        ),
        ("svcb", 10, Duration::from_secs(60)),
    ] {
        let p = perms(user(&opts, name));
        let subscribe = p.subscribe.as_ref().expect("subscribe permissions");
        assert_eq!(list(&subscribe.allow), ["my.service.req"], "{name}");
        // allow_responses turns the blanket publish allow into "allow none".
        let publish = p.publish.as_ref().expect("publish permissions");
        assert_eq!(publish.allow, Some(Vec::new()), "{name}");
        let r = p.response.as_ref().expect("response permissions");
        assert_eq!(r.max_msgs, max, "{name}");
        assert_eq!(r.expires, Some(expires), "{name}");
    }
}

port!("server/opts_test.go::TestNewStyleAuthorizationConfig" => new_style_authorization_config);
fn new_style_authorization_config() {
    let opts = process(
        r#"
listen: 127.0.0.1:4222
authorization {
  normal_user = {
    publish = {
      allow = ["foo", "bar", "baz"]
    }
    subscribe = {
      deny = "$SYS.>"
    }
  }
 admin_user = {
   publish = "$SYS.>"
   subscribe = {
     deny = ["foo", "bar", "baz"]
   }
 }
  users = [
    {user: alice, password: foo, permissions: $normal_user}
    {user: bob, password: special, permissions: $admin_user}
  ]
}
"#,
    )
    .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));
    assert_eq!(opts.users.len(), 2, "Expected 2 users");

    let alice = perms(user(&opts, "alice"));
    let publish = alice.publish.as_ref().expect("Alice's publish permissions");
    assert_eq!(list(&publish.allow), ["foo", "bar", "baz"]);
    assert!(list(&publish.deny).is_empty());
    let subscribe = alice
        .subscribe
        .as_ref()
        .expect("Alice's subscribe permissions");
    assert!(list(&subscribe.allow).is_empty());
    assert_eq!(list(&subscribe.deny), ["$SYS.>"]);

    let bob = perms(user(&opts, "bob"));
    let publish = bob.publish.as_ref().expect("Bob's publish permissions");
    assert_eq!(list(&publish.allow), ["$SYS.>"]);
    assert!(list(&publish.deny).is_empty());
    let subscribe = bob.subscribe.as_ref().expect("Bob's subscribe permissions");
    assert!(list(&subscribe.allow).is_empty());
    assert_eq!(list(&subscribe.deny), ["foo", "bar", "baz"]);
}

port!("server/opts_test.go::TestNkeyUsersConfig" => nkey_users_config);
fn nkey_users_config() {
    let opts = process(
        r#"
    authorization {
      users = [
        {nkey: "UDKTV7HZVYJFJN64LLMYQBUR6MTNNYCDC3LAZH4VHURW3GZLL3FULBXV"}
        {nkey: "UA3C5TBZYK5GJQJRWPMU6NFY5JNAEVQB2V2TUZFZDHFJFUYVKTTUOFKZ"}
      ]
    }"#,
    )
    .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));
    assert_eq!(opts.nkeys.len(), 2, "Expected 2 nkey users");
}

port!("server/opts_test.go::TestNkeyUsersWithPermsConfig" => nkey_users_with_perms_config);
fn nkey_users_with_perms_config() {
    let opts = process(
        r#"
    authorization {
      users = [
        {nkey: "UDKTV7HZVYJFJN64LLMYQBUR6MTNNYCDC3LAZH4VHURW3GZLL3FULBXV",
         permissions = {
           publish = "$SYS.>"
           subscribe = { deny = ["foo", "bar", "baz"] }
         }
        }
      ]
    }"#,
    )
    .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));
    assert_eq!(opts.nkeys.len(), 1, "Expected 1 nkey user");
    let p = opts.nkeys[0]
        .permissions
        .as_ref()
        .expect("Expected to have permissions");
    let publish = p
        .publish
        .as_ref()
        .expect("Expected to have publish permissions");
    assert_eq!(list(&publish.allow)[0], "$SYS.>");
    let subscribe = p
        .subscribe
        .as_ref()
        .expect("Expected to have subscribe permissions");
    assert!(
        subscribe.allow.is_none(),
        "Expected to have no subscribe allow permissions"
    );
    assert_eq!(
        subscribe.deny,
        Some(vec!["foo".into(), "bar".into(), "baz".into()])
    );
}

port!("server/opts_test.go::TestBadNkeyConfig" => bad_nkey_config);
fn bad_nkey_config() {
    let r = process(
        r#"
    authorization {
      users = [ {nkey: "Ufoo"}]
    }"#,
    );
    assert!(r.is_err(), "Expected an error from bad nkey entry");
}

port!("server/opts_test.go::TestNkeyWithPassConfig" => nkey_with_pass_config);
fn nkey_with_pass_config() {
    let r = process(
        r#"
    authorization {
      users = [
        {nkey: "UDKTV7HZVYJFJN64LLMYQBUR6MTNNYCDC3LAZH4VHURW3GZLL3FULBXV", pass: "foo"}
      ]
    }"#,
    );
    assert!(
        r.is_err(),
        "Expected an error from nkey entry with password"
    );
}

port!("server/opts_test.go::TestTokenWithUserPass" => token_with_user_pass);
fn token_with_user_pass() {
    let err = process(
        r#"
	authorization={
		user: user
		pass: password
		token: $2a$11$whatever
	}"#,
    )
    .expect_err("Expected error, got none");
    assert!(
        err.to_string().contains("token"),
        "Expected error related to token, got {err}"
    );
}

port!("server/opts_test.go::TestTokenWithUsers" => token_with_users);
fn token_with_users() {
    let err = process(
        r#"
	authorization={
		token: $2a$11$whatever
		users: [
			{user: test, password: test}
		]
	}"#,
    )
    .expect_err("Expected error, got none");
    assert!(
        err.to_string().contains("token"),
        "Expected error related to token, got {err}"
    );
}

port!("server/opts_test.go::TestMultipleUsersConfig" => multiple_users_config);
fn multiple_users_config() {
    // Go's configs/multiple_users.conf.
    let opts = process(
        r#"
listen: 127.0.0.1:4443

authorization {
    users = [
      {user: alice, password: foo}
      {user: bob,   password: bar}
    ]
    timeout: 0.5
}
"#,
    )
    .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));
    assert_eq!(opts.users.len(), 2);
    assert_eq!(opts.auth_timeout, Duration::from_millis(500));
}

port!("server/opts_test.go::TestParsingResponsePermissions" => parsing_response_permissions);
fn parsing_response_permissions() {
    use natsd::auth::{DEFAULT_ALLOW_RESPONSE_EXPIRATION, DEFAULT_ALLOW_RESPONSE_MAX_MSGS};
    let conf = |a: &str, b: &str| {
        format!(
            r#"
		listen: "127.0.0.1:-1"
		authorization {{
			users [
				{{
					user: ivan
					password: pwd
					permissions {{
						allow_responses {{
							{a}
							{b}
						}}
					}}
				}}
			]
		}}
	"#
        )
    };
    // `expected_ttl` None: the permission never expires (Go's negative TTL).
    let check = |a: &str, b: &str, expected_max: i64, expected_ttl: Option<Duration>| {
        let opts = process(&conf(a, b)).unwrap_or_else(|e| panic!("Error on process: {e}"));
        let p = opts.users[0].permissions.as_ref().expect("permissions");
        let r = p
            .response
            .as_ref()
            .expect("Expected response permissions to be set, it was not");
        assert_eq!(r.max_msgs, expected_max, "Expected response max msgs");
        assert_eq!(r.expires, expected_ttl, "Expected response ttl");
    };
    let check_err = |a: &str, b: &str, expected: &str| {
        let err = process(&conf(a, b)).expect_err("expected an error");
        assert!(
            err.to_string().contains(expected),
            "Expected error about {expected:?}, got {err}"
        );
    };
    let def_ttl = Some(DEFAULT_ALLOW_RESPONSE_EXPIRATION);
    let five = Some(Duration::from_secs(5));
    // Check defaults
    check("", "", DEFAULT_ALLOW_RESPONSE_MAX_MSGS, def_ttl);
    check("max: 10", "", 10, def_ttl);
    check("", "ttl: 5s", DEFAULT_ALLOW_RESPONSE_MAX_MSGS, five);
    check("max: 0", "", DEFAULT_ALLOW_RESPONSE_MAX_MSGS, def_ttl);
    check("", r#"ttl: "0s""#, DEFAULT_ALLOW_RESPONSE_MAX_MSGS, def_ttl);
    // Check normal values
    check("max: 10", r#"ttl: "5s""#, 10, five);
    // Check negative values ok
    check("max: -1", r#"ttl: "5s""#, -1, five);
    check("max: 10", r#"ttl: "-1s""#, 10, None);
    check("max: -1", r#"ttl: "-1s""#, -1, None);
    // Check parsing errors
    check_err("unknown_field: 123", "", "Unknown field");
    check_err("max: 10", "ttl: 123", "not a duration string");
    check_err("max: 10", "ttl: xyz", "error parsing expires");
}

port!("server/opts_test.go::TestQueuePermissions" => queue_permissions);
fn queue_permissions() {
    use ported::support::{re, run_server, RawConn};
    for (perm_type, queue, err_expected) in [
        ("allow", "queue.dev", false),
        ("allow", "", true),
        ("allow", "bad", true),
        ("deny", "", false),
        ("deny", "queue.dev", true),
    ] {
        let mut opts = process(&format!(
            r#"
		listen: 127.0.0.1:-1
		no_auth_user: u
		authorization {{
			users [{{
				user: u, password: pwd, permissions: {{ sub: {{ {perm_type}: ["foo.> *.dev"] }} }}
			}}]
		}}"#
        ))
        .unwrap_or_else(|e| panic!("Received unexpected error {e}"));
        opts.no_log = true;
        opts.no_sigs = true;
        let s = run_server(opts);
        // No credentials: the client is the no_auth_user.
        let mut c = RawConn::connect(s.addr);
        c.check_info();
        c.send("CONNECT {\"verbose\":false,\"pedantic\":false}\r\n");
        if queue.is_empty() {
            c.send("SUB foo.bar 1\r\n");
        } else {
            c.send(&format!("SUB foo.bar {queue} 1\r\n"));
        }
        c.send("PING\r\n");
        let case = format!("{perm_type}{queue}");
        if err_expected {
            let err = c.expect(&re::ERR);
            let err = String::from_utf8_lossy(&err);
            assert!(
                err.contains("Permissions Violation for Subscription to \"foo.bar\""),
                "{case}: error {err}"
            );
        }
        // Nothing (else) came before the PONG.
        c.expect(&re::PONG);
    }
}

port!("server/opts_test.go::TestSublistNoCacheConfig" => sublist_no_cache_config);
fn sublist_no_cache_config() {
    let opts = process("disable_sublist_cache: true\n")
        .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));
    assert!(
        opts.no_sublist_cache,
        "Expected sublist cache to be disabled"
    );
    // Beyond Go's check: a server started with it really runs without the cache.
    let s = ported::support::run_server(Options {
        no_sublist_cache: true,
        ..ported::support::default_test_options()
    });
    assert!(!s.shared().global_account().sublist.cache_enabled());
}

/// The TLS ports of this file.
mod tls_ports {
    use natsd::tls::{gen_tls_config, TlsConfigOpts};
    use ported::port;
    use ported::support::{default_test_options, run_server};
    use ported::tls_client::test_cert;
    use std::sync::Arc;
    use std::time::Duration;

    port!("server/opts_test.go::TestDefaultAuthTimeout" => default_auth_timeout);
    fn default_auth_timeout() {
        // Go's test options leave AuthTimeout at zero: the server picks the default.
        let mut opts = default_test_options();
        opts.auth_timeout = Duration::ZERO;
        let s = run_server(opts);
        let at = s.shared().opts().auth_timeout;
        assert_eq!(
            at,
            Duration::from_secs(2),
            "Expected auth timeout to be 2s, got {at:?}"
        );
        drop(s);

        let tc = TlsConfigOpts {
            cert_file: test_cert("server-cert.pem"),
            key_file: test_cert("server-key.pem"),
            ca_file: test_cert("ca.pem"),
            timeout: 4.0,
            ..TlsConfigOpts::default()
        };
        let tls =
            gen_tls_config(&tc).unwrap_or_else(|e| panic!("Error generating tls config: {e}"));
        let mut opts = default_test_options();
        opts.auth_timeout = Duration::ZERO;
        opts.tls_config = Some(Arc::new(tls));
        opts.tls_timeout = Duration::from_secs(4);
        let s = run_server(opts);
        let at = s.shared().opts().auth_timeout;
        assert_eq!(
            at,
            Duration::from_secs(5),
            "Expected auth timeout to be 5s, got {at:?}"
        );
    }
}

/// Ports that need accounts: users defined in accounts next to the authorization block.
mod account_ports {
    use natsd::auth::Permissions;
    use natsd::config::file::process_config_file;
    use ported::port;
    use ported::support::{create_conf_file, re, run_server, run_server_with_config, RawConn};

    port!("server/opts_test.go::TestAccountUsersLoadedProperly" => account_users_loaded_properly);
    fn account_users_loaded_properly() {
        let conf = create_conf_file(
            br#"
            listen: "127.0.0.1:-1"
            authorization {
                users [
                    {user: ivan, password: bar}
                    {nkey : UC6NLCN7AS34YOJVCYD4PJ3QB7QGLYG5B5IMBT25VW5K4TNUJODM7BOX}
                ]
            }
            accounts {
                synadia {
                    users [
                        {user: derek, password: foo}
                        {nkey : UBAAQWTW6CG2G6ANGNKB5U2B7HRWHSGMZEZX3AQSAJOQDAUGJD46LD2E}
                    ]
                }
            }
            "#,
        );
        // Go repeats this because its order of processing the two blocks was random.
        for _ in 0..20 {
            let (s, opts) = run_server_with_config(&conf);
            assert_eq!(opts.users.len(), 2, "Should have 2 users");
            assert_eq!(opts.nkeys.len(), 2, "Should have 2 nkeys");
            // And the server serves them all.
            for connect in [
                r#"{"verbose":false,"user":"ivan","pass":"bar"}"#,
                r#"{"verbose":false,"user":"derek","pass":"foo"}"#,
            ] {
                let mut nc = RawConn::connect(s.addr);
                nc.check_info();
                nc.send(&format!("CONNECT {connect}\r\nPING\r\n"));
                nc.expect(&re::PONG);
            }
        }
    }

    port!("server/opts_test.go::TestSublistNoCacheConfigOnAccounts" => sublist_no_cache_config_on_accounts);
    fn sublist_no_cache_config_on_accounts() {
        let (s, _) = run_server_with_config(create_conf_file(
            br#"
            listen: "127.0.0.1:-1"
            disable_sublist_cache: true

            accounts {
              synadia {
                users [ {nkey : UBAAQWTW6CG2G6ANGNKB5U2B7HRWHSGMZEZX3AQSAJOQDAUGJD46LD2E} ]
              }
              nats.io {
                users [ {nkey : UC6NLCN7AS34YOJVCYD4PJ3QB7QGLYG5B5IMBT25VW5K4TNUJODM7BOX} ]
              }
            }
            no_sys_acc = true
            "#,
        ));
        let all = s.shared().accounts.all();
        // The reserved $G plus the two.
        assert_eq!(
            all.len(),
            3,
            "Expected to have a server with 3 active accounts"
        );
        for acc in all {
            assert!(
                !acc.sublist.cache_enabled(),
                "Expected the account sublist of {} to not have caching enabled",
                acc.name
            );
        }
    }

    port!("server/opts_test.go::TestNkeyUsersDefaultPermissionsConfig" => nkey_users_default_permissions_config);
    fn nkey_users_default_permissions_config() {
        let opts = process_config_file(
            &create_conf_file(
                br#"
                authorization {
                    default_permissions = {
                        publish = "foo"
                    }
                    users = [
                        { user: "user", password: "pwd"}
                        { user: "other", password: "pwd",
                            permissions = {
                                subscribe = "bar"
                            }
                        }
                        { nkey: "UDKTV7HZVYJFJN64LLMYQBUR6MTNNYCDC3LAZH4VHURW3GZLL3FULBXV" }
                        { nkey: "UA3C5TBZYK5GJQJRWPMU6NFY5JNAEVQB2V2TUZFZDHFJFUYVKTTUOFKZ",
                            permissions = {
                                subscribe = "bar"
                            }
                        }
                    ]
                }
                accounts {
                    A {
                        default_permissions = {
                            publish = "foo"
                        }
                        users = [
                            { user: "accuser", password: "pwd"}
                            { user: "accother", password: "pwd",
                                permissions = {
                                    subscribe = "bar"
                                }
                            }
                            { nkey: "UC4YEYJHYKTU4LHROX7UEKEIO5RP5OUWDYXELHWXZOQHZYXHUD44LCRS" }
                            { nkey: "UDLSDF4UY3YW7JJQCYE6T2D4KFDCH6RGF3R65KHK247G3POJPI27VMQ3",
                                permissions = {
                                    subscribe = "bar"
                                }
                            }
                        ]
                    }
                }
                "#,
            )
            .to_string_lossy(),
        )
        .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));

        // The user without permissions of its own gets the defaults (publish foo, no
        // subscribe); the one with its own keeps only those (subscribe bar, no publish).
        let check_perms = |def: Option<&Permissions>, non_def: Option<&Permissions>| {
            let (def, non_def) = (
                def.expect("permissions with defaults"),
                non_def.expect("permissions of its own"),
            );
            let publish = def.publish.as_ref().expect("Publish allow foo missing");
            assert_eq!(
                publish
                    .allow
                    .as_ref()
                    .and_then(|a| a.first())
                    .map(String::as_str),
                Some("foo"),
                "Publish allow foo missing"
            );
            assert!(
                def.subscribe.is_none(),
                "Has unexpected Subscribe permission"
            );
            let subscribe = non_def
                .subscribe
                .as_ref()
                .expect("Subscribe allow bar missing");
            assert_eq!(
                subscribe
                    .allow
                    .as_ref()
                    .and_then(|a| a.first())
                    .map(String::as_str),
                Some("bar"),
                "Subscribe allow bar missing"
            );
            assert!(
                non_def.publish.is_none(),
                "Has unexpected Publish permission"
            );
        };
        let user = |name: &str| {
            opts.users
                .iter()
                .find(|u| u.username == name)
                .and_then(|u| u.permissions.as_ref())
        };
        let nkey = |prefix: &str| {
            opts.nkeys
                .iter()
                .find(|n| n.nkey.starts_with(prefix))
                .and_then(|n| n.permissions.as_ref())
        };
        assert_eq!(opts.users.len(), 4, "Expected 4 users");
        check_perms(user("user"), user("other"));
        check_perms(user("accuser"), user("accother"));
        assert_eq!(opts.nkeys.len(), 4, "Expected 4 nkey users");
        check_perms(nkey("UDK"), nkey("UA3"));
        check_perms(nkey("UC4"), nkey("UDL"));
    }

    port!("server/opts_test.go::TestNoAuthUserCode" => no_auth_user_code);
    fn no_auth_user_code() {
        // Go reads the user from $NO_AUTH_USER; a variable of this test's own keeps
        // parallel tests apart.
        let var = format!("NATSD_PORTED_NO_AUTH_USER_{}", std::process::id());
        let conf = create_conf_file(
            format!(
                r#"
                listen: "127.0.0.1:-1"
                no_auth_user: ${var}

                accounts {{
                    synadia {{
                        users [
                            {{user: "a", password: "a"}},
                            {{nkey : UBAAQWTW6CG2G6ANGNKB5U2B7HRWHSGMZEZX3AQSAJOQDAUGJD46LD2E}},
                        ]
                    }}
                    acc {{
                        users [
                            {{user: "c", password: "c"}}
                        ]
                    }}
                }}
                # config for $G
                authorization {{
                    users [
                        {{user: "b", password: "b"}}
                    ]
                }}
                "#
            )
            .as_bytes(),
        );
        let path = conf.to_string_lossy().into_owned();
        for user in ["a", "b", "b"] {
            std::env::set_var(&var, user);
            let mut opts = process_config_file(&path)
                .unwrap_or_else(|e| panic!("{user}: Received unexpected error {e}"));
            opts.no_log = true;
            let s = run_server(opts);
            let mut nc = RawConn::connect(s.addr);
            nc.check_info();
            nc.send("CONNECT {\"verbose\":false}\r\nPING\r\n");
            nc.expect(&re::PONG);
        }
        for bad_user in [
            "notthere",
            "UBAAQWTW6CG2G6ANGNKB5U2B7HRWHSGMZEZX3AQSAJOQDAUGJD46LD2F",
        ] {
            std::env::set_var(&var, bad_user);
            let opts = process_config_file(&path)
                .unwrap_or_else(|e| panic!("{bad_user}: Received unexpected error {e}"));
            match natsd::server::Server::new(opts) {
                Ok(_) => {
                    panic!("{bad_user}: Received no error, where no_auth_user error was expected")
                }
                Err(e) => assert!(
                    e.to_string().starts_with("no_auth_user"),
                    "{bad_user}: Received unexpected error {e}"
                ),
            }
        }
        std::env::remove_var(&var);
    }
}

port!("server/opts_test.go::TestOptionsProxyTrustedKeys" => options_proxy_trusted_keys);
fn options_proxy_trusted_keys() {
    use natsd::auth::proxy::ProxiesConfig;
    let mut o = ported::support::default_test_options();
    o.proxies = Some(ProxiesConfig {
        trusted: vec![
            "UCARKS2E3KVB7YORL2DG34XLT7PUCOL2SVM7YXV6ETHLW6Z46UUJ2VZ3".into(),
            "bad1".into(),
            "UD6AYQSOIN2IN5OGC6VQZCR4H3UFMIOXSW6NNS6N53CLJA4PB56CEJJI".into(),
            "bad2".into(),
        ],
    });
    let err = natsd::server::validate_options(&o).expect_err("expected an error");
    assert_eq!(err, "proxy trusted key \"bad1\" is invalid");

    let trusted = [
        "UCARKS2E3KVB7YORL2DG34XLT7PUCOL2SVM7YXV6ETHLW6Z46UUJ2VZ3",
        "UD6AYQSOIN2IN5OGC6VQZCR4H3UFMIOXSW6NNS6N53CLJA4PB56CEJJI",
    ];
    o.proxies = Some(ProxiesConfig {
        trusted: trusted.iter().map(|k| k.to_string()).collect(),
    });
    let s = ported::support::run_server(o);
    // Go turns each configured key into a key pair, in order; natsd verifies proxy
    // signatures with the keys of the options in force, which must be these, in order,
    // each a usable public key.
    let opts = s.shared().opts();
    let keys = &opts.proxies.as_ref().expect("proxies").trusted;
    assert_eq!(keys.len(), trusted.len());
    for (i, k) in keys.iter().enumerate() {
        let kp = nkeys::KeyPair::from_public_key(k).expect("a public key");
        assert_eq!(kp.public_key(), trusted[i]);
    }
    // With trusted proxies, every client's INFO carries a nonce to sign.
    let mut c = ported::support::RawConn::connect(s.addr);
    let info = c.check_info();
    assert!(
        info["nonce"].as_str().is_some_and(|n| !n.is_empty()),
        "Expected nonce in INFO, got {info}"
    );
}

port!("server/opts_test.go::TestAuthorizationTimeoutConfigParsing" => authorization_timeout_config_parsing);
fn authorization_timeout_config_parsing() {
    // (name, config, parsed seconds, running seconds, error)
    let cases: [(&str, &str, f64, f64, &str); 10] = [
        ("defaults", "authorization {}", 0.0, 2.0, ""),
        (
            "explicit zero",
            "authorization {\n\ttimeout: 0\n}",
            0.0,
            2.0,
            "",
        ),
        (
            "explicit one",
            "authorization {\n\ttimeout: 1\n}",
            1.0,
            1.0,
            "",
        ),
        (
            "garbage",
            "authorization {\n\ttimeout: random_garbage\n}",
            0.0,
            0.0,
            "invalid duration \"random_garbage\"",
        ),
        (
            "human readable",
            "authorization {\n\ttimeout: 10s\n}",
            10.0,
            10.0,
            "",
        ),
        (
            "bare values could be parsed as integers",
            "authorization {\n\ttimeout: 1m\n}",
            1_000_000.0,
            1_000_000.0,
            "",
        ),
        (
            "but quoted values will be parsed as durations",
            "authorization {\n\ttimeout: \"1m\"\n}",
            60.0,
            60.0,
            "",
        ),
        (
            "human readable minutes quoted",
            "authorization {\n\ttimeout: \"10m5s30ms\"\n}",
            605.03,
            605.03,
            "",
        ),
        (
            "floats work",
            "authorization {\n\ttimeout: 0.091\n}",
            0.091,
            0.091,
            "",
        ),
        (
            "but no leading digit fails",
            "authorization {\n\ttimeout: .091\n}",
            0.0,
            0.0,
            "Floats must start with a digit",
        ),
    ];
    for (name, config, parsed, running, error) in cases {
        // Go parses into zero-valued options (`new(Options)`): no timeout unless set.
        let mut opts = Options {
            auth_timeout: Duration::ZERO,
            ..ported::support::default_test_options()
        };
        let r = natsd::config::file::apply_config_string(&mut opts, config);
        if !error.is_empty() {
            let e = r.expect_err(name).to_string();
            assert!(
                e.contains(error),
                "{name}: Expected error like {error:?}, got {e}"
            );
            continue;
        }
        if let Err(e) = r {
            panic!("{name}: Error processing config: {e}");
        }
        let close = |d: Duration, want: f64| (d.as_secs_f64() - want).abs() < 1e-9;
        assert!(
            close(opts.auth_timeout, parsed),
            "{name}: Expected Parsed AuthTimeout to be {parsed}, got {:?}",
            opts.auth_timeout
        );
        let s = ported::support::run_server(opts);
        let got = s.shared().opts().auth_timeout;
        assert!(
            close(got, running),
            "{name}: Expected Running AuthTimeout to be {running}, got {got:?}"
        );
    }
}

/// The cases of Go's TestAuthorizationAndAccountsMisconfigurations and
/// TestProcessConfigString: (name, config, error the message must contain).
const AUTH_AND_ACCOUNTS_MISCONFIGURATIONS: [(&str, &str, &str); 7] = [
    (
        "duplicate users",
        r#"
			authorization = {users = [ {user: "user1", pass: "pwd"} ] }
			accounts { ACC { users = [ {user: "user1"} ] } }
			"#,
        "Duplicate user \"user1\" detected",
    ),
    (
        "duplicate nkey",
        r#"
			authorization = {users = [ {nkey: UC6NLCN7AS34YOJVCYD4PJ3QB7QGLYG5B5IMBT25VW5K4TNUJODM7BOX} ] }
			accounts { ACC { users = [ {nkey: UC6NLCN7AS34YOJVCYD4PJ3QB7QGLYG5B5IMBT25VW5K4TNUJODM7BOX} ] } }
			"#,
        "Duplicate nkey \"UC6NLCN7AS34YOJVCYD4PJ3QB7QGLYG5B5IMBT25VW5K4TNUJODM7BOX\" detected",
    ),
    (
        "auth single user and password and accounts users",
        r#"
			authorization = {user: "user1", password: "pwd"}
			accounts = { ACC { users = [ {user: "user2", pass: "pwd"} ] } }
			"#,
        "Can not have a single user/pass",
    ),
    (
        "auth single user and password and accounts nkeys",
        r#"
			authorization = {user: "user1", password: "pwd"}
			accounts = { ACC { users = [ {nkey: UC6NLCN7AS34YOJVCYD4PJ3QB7QGLYG5B5IMBT25VW5K4TNUJODM7BOX} ] } }
			"#,
        "Can not have a single user/pass",
    ),
    (
        "auth token and accounts users",
        r#"
			authorization = {token: "my_token"}
			accounts = { ACC { users = [ {user: "user2", pass: "pwd"} ] } }
			"#,
        "Can not have a token",
    ),
    (
        "auth token and accounts nkeys",
        r#"
			authorization = {token: "my_token"}
			accounts = { ACC { users = [ {nkey: UC6NLCN7AS34YOJVCYD4PJ3QB7QGLYG5B5IMBT25VW5K4TNUJODM7BOX} ] } }
			"#,
        "Can not have a token",
    ),
    (
        "auth callout allowed accounts",
        r#"
			accounts {
				AUTH { users = [ {user: "auth", password: "auth"} ] }
				FOO {}
			}
			authorization {
				auth_callout {
					issuer: "ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA"
					account: AUTH
					auth_users: [ auth ]
					allowed_accounts: [ BAR ]
				}
			}
			"#,
        "auth_callout allowed account \"BAR\" not found in configured accounts",
    ),
];

port!("server/opts_test.go::TestAuthorizationAndAccountsMisconfigurations" => authorization_and_accounts_misconfigurations);
fn authorization_and_accounts_misconfigurations() {
    for (name, config, want) in AUTH_AND_ACCOUNTS_MISCONFIGURATIONS {
        match process(config) {
            Ok(_) => panic!("{name}: Expected error {want:?}, got none"),
            Err(e) => assert!(
                e.to_string().contains(want),
                "{name}: Expected error {want:?}, got {e}"
            ),
        }
    }
}

port!("server/opts_test.go::TestProcessConfigString" => process_config_string);
fn process_config_string() {
    for (name, config, want) in AUTH_AND_ACCOUNTS_MISCONFIGURATIONS {
        let mut opts = Options::default();
        match natsd::config::file::apply_config_string(&mut opts, config) {
            Ok(_) => panic!("{name}: Expected error {want:?}, got none"),
            Err(e) => assert!(
                e.to_string().contains(want),
                "{name}: Expected error {want:?}, got {e}"
            ),
        }
    }
}

port!("server/opts_test.go::TestMaxSubTokens" => max_sub_tokens);
fn max_sub_tokens() {
    let conf = create_conf_file(b"\n\t\tlisten: 127.0.0.1:-1\n\t\tmax_sub_tokens: 4\n\t");
    let (s, _) = ported::support::run_server_with_config(conf);
    let mut c = ported::support::RawConn::setup(s.addr);
    c.send("SUB a.b.c.d.e 1\r\nPING\r\n");
    let got = c.expect(&ported::support::re::ERR);
    let got = String::from_utf8_lossy(&got);
    assert!(got.contains("too many tokens"), "Got wrong error: {got}");
    // Within the limit, subscribing is fine.
    c.send("SUB a.b.c.d 2\r\nPING\r\n");
    c.expect(&ported::support::re::PONG);
}

/// Go's `&Options{ConfigFile: ...}`: natsd's defaults, less the log timestamps its
/// command line turns on by default (Go's zero options have none, as a loaded file).
fn options_with_config_file(path: &std::path::Path) -> Options {
    Options {
        config_file: Some(path.to_path_buf()),
        logtime: false,
        no_log: true,
        no_sigs: true,
        ..Options::default()
    }
}

port!("server/opts_test.go::TestNewServerFromConfigFunctionality" => new_server_from_config_functionality);
fn new_server_from_config_functionality() {
    use natsd::server::Server;
    // An invalid configuration.
    let conf = create_conf_file(b"\n\t\tmax_payload = 3000000000\n\t");
    assert!(
        Server::new_from_config(options_with_config_file(&conf)).is_err(),
        "Expected an error from too large of a max_payload entry"
    );
    // A configuration that fails validation: max_pending under max_payload.
    let conf = create_conf_file(b"\n\t\tmax_payload = 100000\n\t\tmax_pending = 50000\n\t");
    match Server::new_from_config(options_with_config_file(&conf)) {
        Ok(_) => panic!("Expected validation error, got none"),
        Err(e) => assert!(
            e.to_string().contains("cannot be higher"),
            "Expected validation error, got: {e}"
        ),
    }
}

port!("server/opts_test.go::TestNewServerFromConfigVsLoadConfig" => new_server_from_config_vs_load_config);
fn new_server_from_config_vs_load_config() {
    use natsd::server::Server;
    let conf = create_conf_file(
        b"\n\t\tport = 4224\n\t\tmax_payload = 4194304\n\t\tmax_connections = 200\n\t\tping_interval = \"30s\"\n\t",
    );
    // The usual way: load the file, then build the server.
    let opts1 = load_config(&conf);
    let s1 = Server::new(opts1)
        .unwrap_or_else(|e| panic!("Failed to create server with LoadConfig options: {e}"));
    // The embedding way: the server loads the file itself.
    let s2 = Server::new_from_config(options_with_config_file(&conf))
        .unwrap_or_else(|e| panic!("Failed to create server with NewServerFromConfig: {e}"));
    // Both end up with the same options.
    assert_eq!(
        format!("{:?}", s1.shared().opts()),
        format!("{:?}", s2.shared().opts()),
        "Options are incorrect"
    );
    assert_eq!(s2.shared().opts().port, 4224);
    assert_eq!(s2.shared().opts().max_connections, 200);
}

/// nats-server's `configs/test.conf`, byte for byte (its digest is part of the check).
const TEST_CONF: &str = r#"# Simple config file

server_name: testing_server

server_metadata {
  key1: value1
  key2: value2
}

feature_flags {
    feature: false
    fix: true
    revert_fix: true
}

listen: 127.0.0.1:4242

http: 8222

http_base_path: /nats

authorization {
  user:     derek
  password: porkchop
  timeout:  1
}

# logging options
debug:   false
trace:   true
logtime: false
syslog: true
remote_syslog: "udp://foo.com:33"

# pid file
pid_file: "/tmp/nats-server/nats-server.pid"

# prof_port
prof_port: 6543

# max_connections
max_connections: 100

# max_subscriptions (per connection)
max_subscriptions: 1000

# max_pending
max_pending: 10000000

# maximum control line
max_control_line: 2048

# maximum payload
max_payload: 65536

# ping interval and no pong threshold
ping_interval: "60s"
ping_max: 3

# how long server can block on a socket write to a client
write_deadline: "3s"

lame_duck_duration: "4m"

# report repeated failed route/gateway/leafNode connection
# every 24hour (24*60*60)
connect_error_reports: 86400

# report failed reconnect events every 5 attempts
reconnect_error_reports: 5
"#;

port!("server/opts_test.go::TestConfigFile" => config_file);
fn config_file() {
    let path = create_conf_file(TEST_CONF.as_bytes());
    let opts = process_config_file(&path_str(&path))
        .unwrap_or_else(|e| panic!("Received an error reading config file: {e}"));
    // Go's golden options over zero-valued ones; natsd's loading starts from its
    // defaults (log timestamps off, as for a file), so the golden starts there too.
    let golden = Options {
        config_file: Some(path.clone()),
        server_name: "testing_server".into(),
        host: "127.0.0.1".into(),
        port: 4242,
        username: "derek".into(),
        password: "porkchop".into(),
        auth_timeout: Duration::from_secs(1),
        debug: false,
        trace: true,
        logtime: false,
        http_port: 8222,
        http_base_path: "/nats".into(),
        pid_file: Some("/tmp/nats-server/nats-server.pid".into()),
        prof_port: 6543,
        syslog: true,
        remote_syslog: "udp://foo.com:33".into(),
        max_control_line: 2048,
        max_payload: 65536,
        max_connections: 100,
        max_subs: 1000,
        max_pending: 10_000_000,
        ping_interval: Duration::from_secs(60),
        max_pings_out: 3,
        write_deadline: Duration::from_secs(3),
        lame_duck_duration: Duration::from_secs(4 * 60),
        connect_error_reports: 86400,
        reconnect_error_reports: 5,
        metadata: [("key1", "value1"), ("key2", "value2")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        feature_flags: [("feature", false), ("fix", true), ("revert_fix", true)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        config_digest: "sha256:f10eacddb9ce83a6bdc79b42c851b9628d49cf8b3c6ba95b1ecf090307504948"
            .into(),
        auth_block_defined: true,
        ..Options::default()
    };
    assert_eq!(
        format!("{opts:#?}"),
        format!("{golden:#?}"),
        "Options are incorrect"
    );
}

port!("server/opts_test.go::TestOptionsCloneNilLists" => options_clone_nil_lists);
fn options_clone_nil_lists() {
    // Go's zero options have nil lists; a copy must not invent entries.
    let opts = Options {
        routes: Vec::new(),
        users: Vec::new(),
        ..Options::default()
    };
    let clone = opts.clone();
    assert!(
        clone.routes.is_empty(),
        "Expected Routes to be nil, got: {:?}",
        clone.routes
    );
    assert!(
        clone.users.is_empty(),
        "Expected Users to be nil, got: {:?}",
        clone.users
    );
}

port!("server/opts_test.go::TestOptionsCloneNil" => options_clone_nil);
fn options_clone_nil() {
    // Go clones a nil *Options to nil; the Rust equivalent is no options at all.
    let opts: Option<Options> = None;
    let clone = opts.clone();
    assert!(clone.is_none(), "Expected nil, got: {clone:?}");
}

port!("server/opts_test.go::TestOptionsProcessConfigFile" => options_process_config_file);
fn options_process_config_file() {
    // Options whose Debug and Trace are the opposite of the file's, and one option the
    // file does not set.
    let log_file = std::path::PathBuf::from("test.log");
    let mut opts = Options {
        debug: true,
        trace: false,
        log_file: Some(log_file.clone()),
        ..Options::default()
    };
    let path = create_conf_file(TEST_CONF.as_bytes());
    if let Err(e) = apply_config_file(&mut opts, &path_str(&path)) {
        panic!("Error processing config file: {e}");
    }
    assert_eq!(
        opts.config_file.as_deref(),
        Some(path.as_path()),
        "Expected ConfigFile to be set to {path:?}, got {:?}",
        opts.config_file
    );
    assert!(
        !opts.debug,
        "Debug option should have been set to false from config file"
    );
    assert!(
        opts.trace,
        "Trace option should have been set to true from config file"
    );
    assert_eq!(
        opts.log_file.as_ref(),
        Some(&log_file),
        "Expected LogFile to be {log_file:?}, got {:?}",
        opts.log_file
    );
}

port!("server/opts_test.go::TestOptions_RandomPort" => options_random_port);
fn options_random_port() {
    // Go rewrites a random port (-1) to 0 in the options before listening; natsd keeps
    // -1 in the options and makes the same decision when it binds.
    let opts = Options {
        port: natsd::config::options::RANDOM_PORT,
        ..Options::default()
    };
    let port = natsd::server::listen_port(opts.port).expect("a port to bind");
    assert_eq!(
        port, 0,
        "Process of options should have resolved random port to zero.\nexpected: 0\ngot: {port}"
    );
}
