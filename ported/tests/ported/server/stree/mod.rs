//! Ports of `server/stree/*_test.go`.
mod stree_test;
