//! Ports of `test/maxpayload_test.go`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::config::Options;
use ported::port;
use ported::support::{default_test_options, run_server, RawConn};

port!("test/maxpayload_test.go::TestMaxPayloadOverrun" => max_payload_overrun);
fn max_payload_overrun() {
    let s = run_server(Options {
        max_payload: 10000,
        ..default_test_options()
    });

    // A size that overruns an int32 is refused as too large.
    let mut c = RawConn::setup(s.addr);
    c.send("PUB foo 199380988\r\n");
    c.expect_err("Maximum Payload Violation");

    // A size that overruns an int64 is not a size at all: the server closes the
    // connection without a word.
    let mut c = RawConn::setup(s.addr);
    c.send("PUB foo 18446744073709551615123\r\n");
    c.expect_eof();
}
