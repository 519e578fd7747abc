//! Ports of `test/ports_test.go` (the reload test; `TestPortsFile` is not ported yet).

#![allow(clippy::unwrap_used)] // tests fail by panicking

use crate::logger::TempDir;
use ported::port;
use ported::support::{check_for, load_config, run_server};
use std::path::Path;
use std::time::Duration;

/// Waits for the ports file to exist and hold something (Go's `waitForFile`).
fn wait_for_file(path: &Path) -> Vec<u8> {
    let mut buf = Vec::new();
    check_for(Duration::from_secs(5), Duration::from_millis(25), || {
        buf = std::fs::read(path).map_err(|e| format!("Could not read ports file: {e}"))?;
        if buf.is_empty() {
            return Err("Expected a non-zero length ports file".into());
        }
        Ok(())
    });
    buf
}

port!("test/ports_test.go::TestPortsFileReload" => ports_file_reload);
fn ports_file_reload() {
    let temp = TempDir::new();
    let dir_a = temp.path().join("A");
    std::fs::create_dir_all(&dir_a).unwrap();
    let conf = |dir: &Path| format!("ports_file_dir: \"{}\"\nport: -1\n", dir.display());
    let conf_path = temp.path().join(format!("{}.conf", std::process::id()));
    std::fs::write(&conf_path, conf(&dir_a)).unwrap();

    let s = run_server(load_config(&conf_path));

    let in_a = natsd::server::ports_file_path(&dir_a);
    assert!(
        in_a.starts_with(&dir_a),
        "expected ports file to be in [{}] but was in [{}]",
        dir_a.display(),
        in_a.display()
    );
    wait_for_file(&in_a);

    // Move the ports file to B and reload.
    let dir_b = temp.path().join("B");
    std::fs::create_dir_all(&dir_b).unwrap();
    std::fs::write(&conf_path, conf(&dir_b)).unwrap();
    s.shared()
        .reload()
        .unwrap_or_else(|e| panic!("error reloading server: {e}"));

    let in_b = natsd::server::ports_file_path(&dir_b);
    assert!(
        in_b.starts_with(&dir_b),
        "expected ports file to be in [{}] but was in [{}]",
        dir_b.display(),
        in_b.display()
    );
    wait_for_file(&in_b);
    // The file in A is gone.
    assert!(
        !in_a.exists(),
        "the port file {} was not deleted",
        in_a.display()
    );
}
