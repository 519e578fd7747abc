//! Ports of `server/pse/*_test.go`.
mod pse_test;
