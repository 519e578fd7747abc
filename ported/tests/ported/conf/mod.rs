//! Ports of nats-server's `conf/` tests (the configuration language).

mod lex_test;
mod parse_test;
