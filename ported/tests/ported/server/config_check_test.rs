//! Ports of nats-server `server/config_check_test.go` for the features natsd has.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use natsd::config::file::apply_config_file;
use natsd::config::Options;
use ported::port;

/// Writes nats-server's `include_conf_check_*` / `include_bad_conf_check_*` files (same
/// content and lines) into a fresh directory; returns it.
fn include_files() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "natsd-config-check-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let files: [(&str, &str); 5] = [
        (
            "include_conf_check_a.conf",
            "\nport = 4222\n\ninclude \"include_conf_check_b.conf\"\n\nhttp_port = $monitoring_port\n",
        ),
        (
            "include_conf_check_b.conf",
            "\nmonitoring_port = 8222\n\ninclude \"include_conf_check_c.conf\"\n",
        ),
        (
            "include_conf_check_c.conf",
            "\nauthorization {\n  user = \"foo\"\n  pass = \"bar\"\n}\n",
        ),
        (
            "include_bad_conf_check_a.conf",
            "\nport = 4222\n\ninclude \"include_bad_conf_check_b.conf\"\n\n# http_port = $monitoring_port\n",
        ),
        (
            "include_bad_conf_check_b.conf",
            "\n\n\n\n\n\n\n\n\n                  monitoring_port = 8222\n\ninclude \"include_conf_check_c.conf\"\n",
        ),
    ];
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    dir
}

port!("server/config_check_test.go::TestConfigCheckIncludes" => config_check_includes);
fn config_check_includes() {
    let dir = include_files();
    // The happy path first.
    let mut opts = Options {
        check_config: true,
        ..Options::default()
    };
    let r = apply_config_file(
        &mut opts,
        &dir.join("include_conf_check_a.conf").to_string_lossy(),
    );
    assert!(
        r.is_ok(),
        "Unexpected error processing include files with configuration check enabled: {r:?}"
    );

    let mut opts = Options {
        check_config: true,
        ..Options::default()
    };
    let err = apply_config_file(
        &mut opts,
        &dir.join("include_bad_conf_check_a.conf").to_string_lossy(),
    )
    .expect_err("Expected error processing include files with configuration check enabled");
    let expected = "include_bad_conf_check_b.conf:10:19: unknown field \"monitoring_port\"\n";
    assert!(
        err.to_string().ends_with(expected),
        "Expected: \n{expected:?}, got\n: {:?}",
        err.to_string()
    );
}
