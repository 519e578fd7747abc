//! Ports of nats-server `server/msgtrace_test.go` that need only the configuration:
//! natsd reads an account's `msg_trace` but does not trace messages yet.

use ported::port;
use ported::support::{create_conf_file, load_config};

port!("server/msgtrace_test.go::TestMsgTraceParseAccountDestWithSampling" => msg_trace_parse_account_dest_with_sampling);
fn msg_trace_parse_account_dest_with_sampling() {
    for (name, sampling_str, want) in [
        ("trace sampling no dest", "msg_trace: {sampling: 50}", 0),
        ("trace dest only", "msg_trace: {dest: foo}", 100),
        (
            "trace dest with number only",
            "msg_trace: {dest: foo, sampling: 20}",
            20,
        ),
        (
            "trace dest with percentage",
            "msg_trace: {dest: foo, sampling: 50%}",
            50,
        ),
    ] {
        let conf = create_conf_file(
            format!(
                "\n\t\tport: -1\n\t\taccounts {{\n\t\t\tA {{\n\t\t\t\tusers: [{{user: a, password: pwd}}]\n\t\t\t\t{sampling_str}\n\t\t\t}}\n\t\t}}\n\t"
            )
            .as_bytes(),
        );
        let o = load_config(conf);
        assert_eq!(o.accounts[0].trace_dest_sampling, want, "{name}");
    }
}
