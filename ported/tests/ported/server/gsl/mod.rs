//! Ports of `server/gsl/*_test.go`.
mod gsl_test;
