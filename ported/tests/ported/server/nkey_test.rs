//! Ports of `server/nkey_test.go`: the nonce in INFO and nkey users signing it.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use base64::Engine;
use natsd::auth::{NkeyUser, User};
use natsd::config::Options;
use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{create_conf_file, default_test_options, re, run_server, RawConn};

/// A seed for a user; its public and private keys are used below.
const SEED: &str = "SUAKYRHVIOREXV7EUZTBHUHL7NUMHPMAS7QMDU3GTIUWEI5LDNOXD43IZY";

fn user_key() -> nkeys::KeyPair {
    nkeys::KeyPair::from_seed(SEED).unwrap()
}

fn nkey_options() -> Options {
    Options {
        nkeys: vec![NkeyUser {
            nkey: user_key().public_key(),
            permissions: None,
            account: String::new(),
            ..Default::default()
        }],
        ..default_test_options()
    }
}

/// Go's `nkeyBasicSetup`.
fn nkey_basic_setup() -> BackgroundServer {
    run_server(nkey_options())
}

/// Go's `mixedSetup`: an nkey user and a user/password user.
fn mixed_setup() -> BackgroundServer {
    run_server(Options {
        users: vec![User {
            username: "derek".into(),
            password: "foo".into(),
            permissions: None,
            account: String::new(),
            ..Default::default()
        }],
        ..nkey_options()
    })
}

/// Connects and returns the connection and the INFO's nonce ("" when absent).
fn new_client(s: &BackgroundServer) -> (RawConn, String) {
    let mut c = RawConn::connect(s.addr);
    let info = c.check_info();
    let nonce = info["nonce"].as_str().unwrap_or_default().to_string();
    (c, nonce)
}

fn sign(nonce: &str) -> String {
    let raw = user_key().sign(nonce.as_bytes()).unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

port!("server/nkey_test.go::TestServerInfoNonceAlwaysEnabled" => server_info_nonce_always_enabled);
fn server_info_nonce_always_enabled() {
    let s = run_server(Options {
        always_enable_nonce: true,
        ..default_test_options()
    });
    let (_c, nonce) = new_client(&s);
    assert!(
        !nonce.is_empty(),
        "Expected a non-empty nonce with AlwaysEnableNonce set"
    );
}

port!("server/nkey_test.go::TestServerInfoNonce" => server_info_nonce);
fn server_info_nonce() {
    let plain = run_server(default_test_options());
    let (_c, nonce) = new_client(&plain);
    assert!(
        nonce.is_empty(),
        "Expected an empty nonce with no nkeys defined"
    );

    // Now setup server with auth and nkeys to trigger nonce generation
    let s = nkey_basic_setup();
    let (_c1, old_nonce) = new_client(&s);
    assert!(
        !old_nonce.is_empty(),
        "Expected a non-empty nonce with nkeys defined"
    );
    // Make sure new clients get new nonces
    let (_c2, nonce) = new_client(&s);
    assert!(!nonce.is_empty(), "Expected a non-empty nonce");
    assert_ne!(
        old_nonce, nonce,
        "Expected subsequent nonces to be different"
    );
}

port!("server/nkey_test.go::TestNkeyClientConnect" => nkey_client_connect);
fn nkey_client_connect() {
    let s = nkey_basic_setup();
    // Send CONNECT with no signature or nkey, should fail.
    let (mut c, _) = new_client(&s);
    c.send("CONNECT {\"verbose\":true,\"pedantic\":true}\r\n");
    c.expect(&re::ERR);

    let pub_key = user_key().public_key();
    // Send nkey but no signature
    let (mut c, _) = new_client(&s);
    c.send(&format!(
        "CONNECT {{\"nkey\":\"{pub_key}\", \"verbose\":true,\"pedantic\":true}}\r\n"
    ));
    c.expect(&re::ERR);

    // Now improperly sign etc.
    let (mut c, _) = new_client(&s);
    c.send(&format!(
        "CONNECT {{\"nkey\":\"{pub_key}\",\"sig\":\"bad_sig\",\"verbose\":true,\"pedantic\":true}}\r\n"
    ));
    c.expect(&re::ERR);

    // Now properly sign the nonce
    let (mut c, nonce) = new_client(&s);
    assert!(
        !nonce.is_empty(),
        "Expected a non-empty nonce with nkeys defined"
    );
    let sig = sign(&nonce);
    c.send(&format!(
        "CONNECT {{\"nkey\":\"{pub_key}\",\"sig\":\"{sig}\",\"verbose\":true,\"pedantic\":true}}\r\nPING\r\n"
    ));
    c.expect(&re::OK);
}

port!("server/nkey_test.go::TestMixedClientConnect" => mixed_client_connect);
fn mixed_client_connect() {
    let s = mixed_setup();
    // Normal user/pass
    let (mut c, _) = new_client(&s);
    c.send("CONNECT {\"user\":\"derek\",\"pass\":\"foo\",\"verbose\":true,\"pedantic\":true}\r\nPING\r\n");
    c.expect(&re::OK);

    let pub_key = user_key().public_key();
    let (mut c, nonce) = new_client(&s);
    assert!(
        !nonce.is_empty(),
        "Expected a non-empty nonce with nkeys defined"
    );
    let sig = sign(&nonce);
    c.send(&format!(
        "CONNECT {{\"nkey\":\"{pub_key}\",\"sig\":\"{sig}\",\"verbose\":true,\"pedantic\":true}}\r\nPING\r\n"
    ));
    c.expect(&re::OK);
}

port!("server/nkey_test.go::TestMixedClientConfig" => mixed_client_config);
fn mixed_client_config() {
    let conf = create_conf_file(
        br#"
    authorization {
      users = [
        {nkey: "UDKTV7HZVYJFJN64LLMYQBUR6MTNNYCDC3LAZH4VHURW3GZLL3FULBXV"}
        {user: alice, password: foo}
      ]
    }"#,
    );
    let opts = natsd::config::file::process_config_file(&conf.to_string_lossy())
        .unwrap_or_else(|e| panic!("Received an error processing config file: {e}"));
    assert_eq!(
        opts.nkeys.len(),
        1,
        "Expected 1 nkey, got {}",
        opts.nkeys.len()
    );
    assert_eq!(
        opts.users.len(),
        1,
        "Expected 1 user, got {}",
        opts.users.len()
    );
}
