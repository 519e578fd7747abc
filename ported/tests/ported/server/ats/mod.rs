//! Ports of `server/ats/*_test.go`.
mod ats_test;
