//! Accounts end to end with the real async-nats client: each account is its own subject
//! space, and the server tells a client which account it is bound to.

use futures::StreamExt;
use natsd::config::file::apply_config_string;
use natsd::config::Options;
use natsd::server::BackgroundServer;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

fn server(conf: &str) -> BackgroundServer {
    let mut o = Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_sigs: true,
        no_log: std::env::var("E2E_TRACE").is_err(),
        trace: std::env::var("E2E_TRACE").is_ok(),
        debug: std::env::var("E2E_TRACE").is_ok(),
        // The sublist counts below are the clients' own: without a system account the
        // server adds no subscriptions of its own to the accounts.
        no_system_account: true,
        ..Options::default()
    };
    apply_config_string(&mut o, conf).expect("valid configuration");
    BackgroundServer::start(o).expect("start")
}

async fn connect(s: &BackgroundServer, user: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), user.into())
        .connect(format!("nats://{}", s.addr))
        .await
        .expect("connect")
}

async fn wait_for(cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn accounts_isolate_subjects() {
    let s = server(
        "accounts { A { users [{user: a1, password: a1}, {user: a2, password: a2}] }\n\
                    B { users [{user: b, password: b}] } }",
    );
    let a1 = connect(&s, "a1").await;
    let a2 = connect(&s, "a2").await;
    let b = connect(&s, "b").await;
    let mut in_a = a2.subscribe("orders.>").await.expect("sub");
    let mut in_b = b.subscribe("orders.>").await.expect("sub");
    // async-nats' flush does not wait for the server: wait until it has both.
    let sh = s.shared().clone();
    let acc_a = sh.accounts.lookup("A").expect("account A");
    let acc_b = sh.accounts.lookup("B").expect("account B");
    wait_for(|| acc_a.sublist.count() == 1 && acc_b.sublist.count() == 1).await;
    a1.publish("orders.new", "for A".into()).await.expect("pub");
    a1.flush().await.expect("flush");
    let m = tokio::time::timeout(WAIT, in_a.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(&m.payload[..], b"for A");
    // B's subscriber on the same subject hears nothing from A.
    b.publish("orders.b", "for B".into()).await.expect("pub");
    b.flush().await.expect("flush");
    let m = tokio::time::timeout(WAIT, in_b.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(&m.payload[..], b"for B", "B must not see A's message first");

    // Each account has its own subscriptions and connections.
    assert_eq!(acc_a.sublist.count(), 1);
    assert_eq!(acc_b.sublist.count(), 1);
    assert_eq!(sh.num_account_clients(&acc_a), 2);
    assert_eq!(sh.num_account_clients(&acc_b), 1);
    assert_eq!(sh.global_account().sublist.count(), 0);
}

#[tokio::test]
async fn requests_stay_in_their_account() {
    let s = server(
        "accounts { A { users [{user: a, password: a}] }, B { users [{user: b, password: b}] } }",
    );
    let a = connect(&s, "a").await;
    let b = connect(&s, "b").await;
    let mut svc = b.subscribe("svc").await.expect("sub");
    let acc_b = s.shared().accounts.lookup("B").expect("account B");
    wait_for(|| acc_b.sublist.count() == 1).await;
    tokio::spawn(async move {
        while let Some(m) = svc.next().await {
            if let Some(r) = m.reply {
                let _ = b.publish(r, "from B".into()).await;
            }
        }
    });
    // Nobody in A serves `svc`: A's request gets no responders, not B's answer.
    let err = a
        .request("svc", "ping".into())
        .await
        .expect_err("a request must not cross accounts");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
}

/// An account's `limits` cap each of its clients below the server's limits: the
/// subscriptions past `max_subs` are refused, a payload over `max_payload` closes the
/// connection, as Go applies account limits to its clients.
#[tokio::test]
async fn account_limits_cap_subscriptions_and_payload() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let s = server(
        "accounts { L { users [{user: l, password: l}], limits { max_subs: 2, max_payload: 8 } } }",
    );
    let stream = tokio::net::TcpStream::connect(s.addr)
        .await
        .expect("connect");
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    macro_rules! next {
        () => {
            tokio::time::timeout(WAIT, lines.next_line())
                .await
                .expect("a line in time")
                .expect("read")
        };
    }
    let info = next!().expect("INFO");
    assert!(info.starts_with("INFO "), "{info}");
    wr.write_all(
        b"CONNECT {\"user\":\"l\",\"pass\":\"l\",\"verbose\":false}\r\nSUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPING\r\n",
    )
    .await
    .expect("write");
    assert_eq!(
        next!().as_deref(),
        Some("-ERR 'maximum subscriptions exceeded'")
    );
    assert_eq!(next!().as_deref(), Some("PONG"));
    // Within the account's payload limit, then over it.
    wr.write_all(b"PUB a 8\r\n12345678\r\nPING\r\n")
        .await
        .expect("write");
    assert_eq!(next!().as_deref(), Some("MSG a 1 8"));
    assert_eq!(next!().as_deref(), Some("12345678"));
    assert_eq!(next!().as_deref(), Some("PONG"));
    wr.write_all(b"PUB a 9\r\n123456789\r\n")
        .await
        .expect("write");
    assert_eq!(next!().as_deref(), Some("-ERR 'Maximum Payload Violation'"));
    assert_eq!(next!(), None, "the connection is closed");
}
