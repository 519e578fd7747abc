//! Ports of `server/*_test.go`.
mod parser_test;
mod sublist_test;
mod subject_transform_test;
mod gsl;
mod log_test;
