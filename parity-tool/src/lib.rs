//! parity: the Go-test-to-Rust-port yardstick.
