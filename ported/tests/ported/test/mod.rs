//! Ports of `test/*_test.go`.
mod proto_test;
