//! Helpers shared by the end-to-end tests (each test file includes this module).

use natsd::config::Options;
use std::path::Path;

/// A JetStream server on a random local port, storing in `store_dir`, without signal
/// handling or logging.
pub fn jetstream_options(store_dir: &Path) -> Options {
    Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_sigs: true,
        no_log: true,
        jetstream: true,
        store_dir: Some(store_dir.to_path_buf()),
        ..Options::default()
    }
}
