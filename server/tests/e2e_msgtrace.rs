//! Message tracing end to end with the real async-nats client: the trace event a client
//! receives, and trace-only messages not delivered.

use async_nats::header::HeaderMap;
use futures::StreamExt;
use natsd::config::Options;
use natsd::msgtrace::{MsgTraceEvent, MSG_TRACE_DEST, MSG_TRACE_ONLY};
use natsd::server::BackgroundServer;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn opts() -> Options {
    Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_sigs: true,
        no_log: true,
        ..Options::default()
    }
}

#[tokio::test]
async fn trace_event_and_trace_only() {
    let s = BackgroundServer::start(opts()).expect("start");
    let nc = async_nats::connect(format!("nats://{}", s.addr))
        .await
        .expect("connect");
    let mut traces = nc.subscribe("trace.dest").await.expect("sub");
    let mut app = nc.subscribe("orders.*").await.expect("sub");
    nc.flush().await.expect("flush");

    for trace_only in [false, true] {
        let mut h = HeaderMap::new();
        h.insert(MSG_TRACE_DEST, "trace.dest");
        if trace_only {
            h.insert(MSG_TRACE_ONLY, "true");
        }
        nc.publish_with_headers("orders.new", h, "hi".into())
            .await
            .expect("pub");
        nc.flush().await.expect("flush");
        let m = tokio::time::timeout(WAIT, traces.next())
            .await
            .expect("trace in time")
            .expect("trace");
        let e: MsgTraceEvent = serde_json::from_slice(&m.payload).expect("event JSON");
        assert_eq!(e.server.id, s.shared().id);
        let ingress = e.ingress().expect("ingress");
        assert_eq!(ingress.subj, "orders.new");
        assert_eq!(ingress.acc, "$G");
        let egress = e.egresses();
        assert_eq!(egress.len(), 1, "{egress:?}");
        assert_eq!(egress[0].sub, "orders.*");
        assert_eq!(egress[0].error, "");
        let delivered = tokio::time::timeout(Duration::from_millis(200), app.next()).await;
        if trace_only {
            assert!(delivered.is_err(), "a trace-only message is not delivered");
        } else {
            let m = delivered
                .expect("app message in time")
                .expect("app message");
            assert_eq!(&m.payload[..], b"hi");
            let h = m.headers.expect("headers kept");
            assert_eq!(
                h.get(MSG_TRACE_DEST).map(|v| v.as_str()),
                Some("trace.dest")
            );
        }
    }
}
