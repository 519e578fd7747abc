//! Ports of `server/*_test.go`.
