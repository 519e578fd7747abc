//! Ports of `test/*_test.go`.
mod pedantic_test;
mod proto_test;
mod verbose_test;
