//! Ports of `test/verbose_test.go`: `+OK` after each operation of a verbose client.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use super::proto_test::run_proto_server;
use ported::port;
use ported::support::{re, RawConn};

port!("test/verbose_test.go::TestVerbosePing" => verbose_ping);
fn verbose_ping() {
    let s = run_proto_server();
    let mut c = RawConn::connect(s.addr);
    c.do_connect(true, false, false);
    c.expect(&re::OK);

    // Ping should still be same
    c.send("PING\r\n");
    c.expect(&re::PONG);
}

port!("test/verbose_test.go::TestVerboseConnect" => verbose_connect);
fn verbose_connect() {
    let s = run_proto_server();
    let mut c = RawConn::connect(s.addr);
    c.do_connect(true, false, false);
    c.expect(&re::OK);

    // Connect
    c.send("CONNECT {\"verbose\":true,\"pedantic\":true,\"tls_required\":false}\r\n");
    c.expect(&re::OK);
}

port!("test/verbose_test.go::TestVerbosePubSub" => verbose_pub_sub);
fn verbose_pub_sub() {
    let s = run_proto_server();
    let mut c = RawConn::connect(s.addr);
    c.do_connect(true, false, false);
    c.expect(&re::OK);

    // Pub
    c.send("PUB foo 2\r\nok\r\n");
    c.expect(&re::OK);
    // Sub
    c.send("SUB foo 1\r\n");
    c.expect(&re::OK);
    // UnSub
    c.send("UNSUB 1\r\n");
    c.expect(&re::OK);
}
