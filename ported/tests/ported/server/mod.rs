//! Ports of `server/*_test.go`.
mod sublist_test;
