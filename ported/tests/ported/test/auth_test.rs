//! Ports of `test/auth_test.go`: token, user/password and bcrypt authentication over the
//! raw protocol.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::server::BackgroundServer;
use ported::port;
use ported::support::{default_test_options, re, run_server, RawConn};
use std::time::Duration;

/// Go's `server.AUTH_TIMEOUT`.
const AUTH_TIMEOUT: Duration = Duration::from_secs(2);

/// Sends a verbose CONNECT with the given credentials (Go's `doAuthConnect`).
pub fn do_auth_connect(c: &mut RawConn, token: &str, user: &str, pass: &str) {
    c.send(&format!(
        "CONNECT {{\"verbose\":true,\"auth_token\":\"{token}\",\"user\":\"{user}\",\"pass\":\"{pass}\"}}\r\n"
    ));
}

/// Reads INFO and checks it says authentication is required (Go's `expectAuthRequired`).
pub fn expect_auth_required(c: &mut RawConn) {
    let info = c.check_info();
    assert_eq!(
        info["auth_required"],
        serde_json::Value::Bool(true),
        "Expected server to require authorization: '{info}'"
    );
}

const AUTH_TOKEN: &str = "_YZZ22_";

fn run_auth_server_with_token() -> BackgroundServer {
    run_server(natsd::config::Options {
        authorization: AUTH_TOKEN.into(),
        ..default_test_options()
    })
}

fn connect_expect_auth(s: &BackgroundServer) -> RawConn {
    let mut c = RawConn::connect(s.addr);
    expect_auth_required(&mut c);
    c
}

port!("test/auth_test.go::TestNoAuthClient" => no_auth_client);
fn no_auth_client() {
    let s = run_auth_server_with_token();
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, "", "", "");
    c.expect(&re::ERR);
}

port!("test/auth_test.go::TestAuthClientBadToken" => auth_client_bad_token);
fn auth_client_bad_token() {
    let s = run_auth_server_with_token();
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, "ZZZ", "", "");
    c.expect(&re::ERR);
}

port!("test/auth_test.go::TestAuthClientNoConnect" => auth_client_no_connect);
fn auth_client_no_connect() {
    let s = run_auth_server_with_token();
    let mut c = connect_expect_auth(&s);
    // This is timing dependent..
    std::thread::sleep(AUTH_TIMEOUT);
    c.expect(&re::ERR);
}

port!("test/auth_test.go::TestAuthClientGoodConnect" => auth_client_good_connect);
fn auth_client_good_connect() {
    let s = run_auth_server_with_token();
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, AUTH_TOKEN, "", "");
    c.expect(&re::OK);
}

port!("test/auth_test.go::TestAuthClientFailOnEverythingElse" => auth_client_fail_on_everything_else);
fn auth_client_fail_on_everything_else() {
    let s = run_auth_server_with_token();
    let mut c = connect_expect_auth(&s);
    c.send("PUB foo 2\r\nok\r\n");
    c.expect(&re::ERR);
}

const AUTH_USER: &str = "derek";
const AUTH_PASS: &str = "foobar";

fn run_auth_server_with_user_pass(pass: &str) -> BackgroundServer {
    run_server(natsd::config::Options {
        username: AUTH_USER.into(),
        password: pass.into(),
        ..default_test_options()
    })
}

port!("test/auth_test.go::TestNoUserOrPasswordClient" => no_user_or_password_client);
fn no_user_or_password_client() {
    let s = run_auth_server_with_user_pass(AUTH_PASS);
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, "", "", "");
    c.expect(&re::ERR);
}

port!("test/auth_test.go::TestBadUserClient" => bad_user_client);
fn bad_user_client() {
    let s = run_auth_server_with_user_pass(AUTH_PASS);
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, "", "derekzz", AUTH_PASS);
    c.expect(&re::ERR);
}

port!("test/auth_test.go::TestBadPasswordClient" => bad_password_client);
fn bad_password_client() {
    let s = run_auth_server_with_user_pass(AUTH_PASS);
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, "", AUTH_USER, "ZZ");
    c.expect(&re::ERR);
}

port!("test/auth_test.go::TestPasswordClientGoodConnect" => password_client_good_connect);
fn password_client_good_connect() {
    let s = run_auth_server_with_user_pass(AUTH_PASS);
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, "", AUTH_USER, AUTH_PASS);
    c.expect(&re::OK);
}

// Generated with `nats server passwd`, cost 4.
const BCRYPT_AUTH_PASS: &str = "IW@$6v(y1(t@fhPDvf!5^%";
const BCRYPT_AUTH_HASH: &str = "$2a$04$Q.CgCP2Sl9pkcTXEZHazaeMwPaAkSHk7AI51HkyMt5iJQQyUA4qxq";

port!("test/auth_test.go::TestBadBcryptPassword" => bad_bcrypt_password);
fn bad_bcrypt_password() {
    let s = run_auth_server_with_user_pass(BCRYPT_AUTH_HASH);
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, "", AUTH_USER, BCRYPT_AUTH_HASH);
    c.expect(&re::ERR);
}

port!("test/auth_test.go::TestGoodBcryptPassword" => good_bcrypt_password);
fn good_bcrypt_password() {
    let s = run_auth_server_with_user_pass(BCRYPT_AUTH_HASH);
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, "", AUTH_USER, BCRYPT_AUTH_PASS);
    c.expect(&re::OK);
}

const BCRYPT_AUTH_TOKEN: &str = "0uhJOSr3GW7xvHvtd^K6pa";
const BCRYPT_AUTH_TOKEN_HASH: &str = "$2a$04$u5ZClXpcjHgpfc61Ee0VKuwI1K3vTC4zq7SjphjnlHMeb1Llkb5Y6";

fn run_auth_server_with_bcrypt_token() -> BackgroundServer {
    run_server(natsd::config::Options {
        authorization: BCRYPT_AUTH_TOKEN_HASH.into(),
        ..default_test_options()
    })
}

port!("test/auth_test.go::TestBadBcryptToken" => bad_bcrypt_token);
fn bad_bcrypt_token() {
    let s = run_auth_server_with_bcrypt_token();
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, BCRYPT_AUTH_TOKEN_HASH, "", "");
    c.expect(&re::ERR);
}

port!("test/auth_test.go::TestGoodBcryptToken" => good_bcrypt_token);
fn good_bcrypt_token() {
    let s = run_auth_server_with_bcrypt_token();
    let mut c = connect_expect_auth(&s);
    do_auth_connect(&mut c, BCRYPT_AUTH_TOKEN, "", "");
    c.expect(&re::OK);
}
