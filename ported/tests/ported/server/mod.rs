//! Ports of `server/*_test.go`.
mod auth_test;
mod client_test;
mod gsl;
mod log_test;
mod monitor_test;
mod nkey_test;
mod opts_test;
mod parser_test;
mod ping_test;
mod rate_counter_test;
mod ring_test;
mod server_test;
mod signal_test;
mod split_test;
mod subject_transform_test;
mod sublist_test;
mod util_test;
