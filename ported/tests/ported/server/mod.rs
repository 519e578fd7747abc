//! Ports of `server/*_test.go`.
mod parser_test;
mod sublist_test;
mod gsl;
mod subject_transform_test;
mod log_test;
mod split_test;
mod ping_test;
mod util_test;
mod ring_test;
mod rate_counter_test;
mod signal_test;
mod client_test;
mod server_test;
mod opts_test;
mod monitor_test;
mod auth_test;
mod nkey_test;
