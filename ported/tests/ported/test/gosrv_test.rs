//! Ports of `test/gosrv_test.go`: nothing of the server keeps running after shutdown.
//!
//! Go counts goroutines before and after; natsd's tasks run on the server's own tokio
//! runtime, so the same fact is that runtime's count of live tasks (listener, one reader
//! and one writer per connection) dropping to zero.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use ported::port;
use ported::support::{check_for, default_test_options, run_server, RawConn};
use std::time::Duration;

port!("test/gosrv_test.go::TestSimpleGoServerShutdown" => simple_server_shutdown);
fn simple_server_shutdown() {
    let s = run_server(default_test_options());
    // The accept loop is running.
    assert!(s.alive_tasks() > 0, "the server runs no tasks");
    s.server.shutdown();
    check_for(
        Duration::from_secs(1),
        Duration::from_millis(100),
        || match s.alive_tasks() {
            0 => Ok(()),
            n => Err(format!("{n} tasks still exist post Shutdown()")),
        },
    );
}

port!("test/gosrv_test.go::TestGoServerShutdownWithClients" => server_shutdown_with_clients);
fn server_shutdown_with_clients() {
    let s = run_server(default_test_options());
    // Connected, never CONNECTed, never closed by the client side.
    let conns: Vec<RawConn> = (0..50).map(|_| RawConn::connect(s.addr)).collect();
    s.server.shutdown();
    // Go waits a second for the client connections and then allows 2 goroutines of
    // runtime noise; natsd has none, so all its tasks must go, within a second or, on a
    // loaded machine, a little later.
    std::thread::sleep(Duration::from_secs(1));
    let left = s.alive_tasks();
    assert!(left <= 2, "{left} tasks still exist post Shutdown()");
    check_for(
        Duration::from_secs(5),
        Duration::from_millis(100),
        || match s.alive_tasks() {
            0 => Ok(()),
            n => Err(format!("{n} tasks still exist post Shutdown()")),
        },
    );
    drop(conns);
}

port!("test/gosrv_test.go::TestGoServerMultiShutdown" => server_multi_shutdown);
fn server_multi_shutdown() {
    let mut s = run_server(default_test_options());
    s.shutdown();
    s.shutdown();
    assert!(s.shared().is_shutting_down());
}
