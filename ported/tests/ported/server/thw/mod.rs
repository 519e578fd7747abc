//! Ports of `server/thw/*_test.go`.
mod thw_test;
