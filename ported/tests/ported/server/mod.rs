//! Ports of `server/*_test.go`.
mod parser_test;
mod sublist_test;
