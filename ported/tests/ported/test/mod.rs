//! Ports of `test/*_test.go`.
mod auth_test;
mod client_auth_test;
mod fanout_test;
mod gosrv_test;
mod log_test;
mod maxpayload_test;
mod monitor_test;
mod opts_test;
mod pedantic_test;
mod pid_test;
mod ping_test;
mod port_test;
mod proto_test;
mod test_test;
mod tls_test;
mod user_authorization_test;
mod verbose_test;
