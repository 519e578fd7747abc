//! End-to-end tests with the real async-nats client against an in-process natsd.

use async_nats::header::HeaderMap;
use futures::StreamExt;
use natsd::config::Options;
use natsd::server::BackgroundServer;
use std::time::Duration;

fn opts() -> Options {
    Options {
        host: "127.0.0.1".to_string(),
        port: -1,
        no_sigs: true,
        no_log: true,
        ..Options::default()
    }
}

fn url(s: &BackgroundServer) -> String {
    format!("nats://{}", s.addr)
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn connect_reads_server_info() {
    let s = BackgroundServer::start(opts()).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let info = nc.server_info();
    assert_eq!(info.server_id, s.shared().id);
    assert_eq!(info.version, natsd::VERSION);
    assert!(info.headers);
    assert_eq!(info.max_payload, 1024 * 1024);
    assert_eq!(info.port, s.addr.port());
    assert!(info.client_id > 0);
}

#[tokio::test]
async fn publish_subscribe_and_wildcards() {
    let s = BackgroundServer::start(opts()).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let mut exact = nc.subscribe("foo.bar").await.expect("sub");
    let mut star = nc.subscribe("foo.*").await.expect("sub");
    let mut gt = nc.subscribe("foo.>").await.expect("sub");
    nc.flush().await.expect("flush");
    nc.publish("foo.bar", "hello".into()).await.expect("pub");
    nc.publish("foo.baz.qux", "deep".into()).await.expect("pub");
    nc.flush().await.expect("flush");
    let m = tokio::time::timeout(WAIT, exact.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(&m.payload[..], b"hello");
    let m = tokio::time::timeout(WAIT, star.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(m.subject.as_str(), "foo.bar");
    let m1 = tokio::time::timeout(WAIT, gt.next())
        .await
        .expect("in time")
        .expect("msg");
    let m2 = tokio::time::timeout(WAIT, gt.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(m1.subject.as_str(), "foo.bar");
    assert_eq!(m2.subject.as_str(), "foo.baz.qux");
    // `foo.*` must not have seen the three-token subject.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), star.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn queue_group_delivers_each_message_once() {
    let s = BackgroundServer::start(opts()).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let mut a = nc.queue_subscribe("work", "q".into()).await.expect("sub");
    let mut b = nc.queue_subscribe("work", "q".into()).await.expect("sub");
    nc.flush().await.expect("flush");
    const N: usize = 200;
    for i in 0..N {
        nc.publish("work", i.to_string().into()).await.expect("pub");
    }
    nc.flush().await.expect("flush");
    let mut seen = vec![0u32; N];
    let mut got = 0;
    let (mut na, mut nb) = (0, 0);
    while got < N {
        let m = tokio::select! {
            m = a.next() => { na += 1; m }
            m = b.next() => { nb += 1; m }
            _ = tokio::time::sleep(WAIT) => panic!("only {got} of {N} messages arrived"),
        };
        let i: usize = std::str::from_utf8(&m.expect("msg").payload)
            .expect("utf8")
            .parse()
            .expect("num");
        seen[i] += 1;
        got += 1;
    }
    assert!(seen.iter().all(|&c| c == 1), "every message exactly once");
    assert!(
        na > 0 && nb > 0,
        "random member selection spreads work: {na}/{nb}"
    );
}

#[tokio::test]
async fn request_reply() {
    let s = BackgroundServer::start(opts()).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let mut svc = nc.subscribe("svc.echo").await.expect("sub");
    let responder = nc.clone();
    tokio::spawn(async move {
        while let Some(m) = svc.next().await {
            if let Some(reply) = m.reply {
                let _ = responder.publish(reply, m.payload).await;
            }
        }
    });
    nc.flush().await.expect("flush");
    let resp = tokio::time::timeout(WAIT, nc.request("svc.echo", "ping".into()))
        .await
        .expect("in time")
        .expect("response");
    assert_eq!(&resp.payload[..], b"ping");
}

#[tokio::test]
async fn headers_round_trip() {
    let s = BackgroundServer::start(opts()).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let mut sub = nc.subscribe("h").await.expect("sub");
    nc.flush().await.expect("flush");
    let mut h = HeaderMap::new();
    h.insert("X-Test", "one");
    h.append("X-Test", "two");
    nc.publish_with_headers("h", h, "body".into())
        .await
        .expect("pub");
    let m = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(&m.payload[..], b"body");
    let hdrs = m.headers.expect("headers");
    let vals: Vec<_> = hdrs
        .get_all("X-Test")
        .map(|v| v.as_str().to_string())
        .collect();
    assert_eq!(vals, vec!["one", "two"]);
}

#[tokio::test]
async fn no_responders_is_reported() {
    let s = BackgroundServer::start(opts()).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let err = tokio::time::timeout(WAIT, nc.request("nobody.home", "x".into()))
        .await
        .expect("in time")
        .expect_err("no responders");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
}

#[tokio::test]
async fn drain_delivers_pending_then_closes() {
    let s = BackgroundServer::start(opts()).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let mut sub = nc.subscribe("d").await.expect("sub");
    nc.flush().await.expect("flush");
    for i in 0..10 {
        nc.publish("d", i.to_string().into()).await.expect("pub");
    }
    nc.flush().await.expect("flush");
    sub.drain().await.expect("drain");
    let mut n = 0;
    while let Ok(Some(_)) = tokio::time::timeout(WAIT, sub.next()).await {
        n += 1;
    }
    assert_eq!(n, 10);
    // The subscription is gone on the server (clients' subscriptions: the server has
    // its own for system events).
    let shared = s.shared().clone();
    let client_subs = || shared.clients().iter().map(|c| c.num_subs()).sum::<usize>();
    for _ in 0..100 {
        if client_subs() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(client_subs(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn reconnects_across_a_server_restart() {
    let mut s = BackgroundServer::start(opts()).expect("start");
    let port = s.addr.port();
    let addr = url(&s);
    let nc = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .reconnect_delay_callback(|_| Duration::from_millis(50))
        .connect(addr)
        .await
        .expect("connect");
    let mut sub = nc.subscribe("r").await.expect("sub");
    nc.flush().await.expect("flush");
    let first_id = nc.server_info().server_id;
    tokio::task::spawn_blocking(move || s.shutdown())
        .await
        .expect("shutdown");
    let s2 = tokio::task::spawn_blocking(move || {
        BackgroundServer::start(Options {
            port: i32::from(port),
            ..opts()
        })
        .expect("restart")
    })
    .await
    .expect("join");
    // The client resubscribes on reconnect; publish until the message comes back.
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let _ = nc.publish("r", "again".into()).await;
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(200), sub.next()).await
            {
                return m;
            }
        }
    })
    .await
    .expect("message after restart");
    assert_eq!(&got.payload[..], b"again");
    assert_ne!(nc.server_info().server_id, first_id);
    drop(s2);
}

#[tokio::test(flavor = "multi_thread")]
async fn lame_duck_mode_informs_and_closes_clients() {
    let s = BackgroundServer::start(Options {
        lame_duck_duration: Duration::from_millis(500),
        lame_duck_grace_period: Duration::from_millis(100),
        ..opts()
    })
    .expect("start");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let nc = async_nats::ConnectOptions::new()
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(e.to_string());
            }
        })
        .max_reconnects(Some(1))
        .connect(url(&s))
        .await
        .expect("connect");
    nc.flush().await.expect("flush");
    let shared = s.shared().clone();
    s.spawn(async move { shared.lame_duck().await });
    let mut events = Vec::new();
    let saw = tokio::time::timeout(WAIT, async {
        while let Some(e) = rx.recv().await {
            events.push(e.clone());
            if e.contains("lame duck") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(saw, "client saw lame duck mode; events: {events:?}");
    // All clients are closed and the server shuts itself down.
    let shared = s.shared().clone();
    let closed = tokio::time::timeout(WAIT, async move {
        while !shared.is_shutting_down() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "server shut down after lame duck");
    assert_eq!(s.shared().num_clients(), 0);
}

#[tokio::test]
async fn token_authentication() {
    let s = BackgroundServer::start(Options {
        authorization: "s3cr3t".into(),
        ..opts()
    })
    .expect("start");
    let nc = async_nats::ConnectOptions::with_token("s3cr3t".into())
        .connect(url(&s))
        .await
        .expect("connect with the right token");
    assert!(nc.server_info().auth_required);
    nc.flush().await.expect("flush");
    let bad = async_nats::ConnectOptions::with_token("wrong".into())
        .connect(url(&s))
        .await;
    assert!(bad.is_err(), "a wrong token must be refused");
    let none = async_nats::connect(url(&s)).await;
    assert!(none.is_err(), "no token must be refused");
}

#[tokio::test]
async fn nkey_authentication() {
    let user = nkeys::KeyPair::new_user();
    let seed = user.seed().expect("seed");
    let s = BackgroundServer::start(Options {
        nkeys: vec![natsd::auth::NkeyUser {
            nkey: user.public_key(),
            permissions: None,
            account: String::new(),
            ..Default::default()
        }],
        ..opts()
    })
    .expect("start");
    // The client signs the nonce of the server's INFO with its seed.
    let nc = async_nats::ConnectOptions::with_nkey(seed)
        .connect(url(&s))
        .await
        .expect("connect with the registered nkey");
    assert!(nc.server_info().auth_required);
    let mut sub = nc.subscribe("nkey.ok").await.expect("sub");
    nc.publish("nkey.ok", "hi".into()).await.expect("pub");
    let m = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(&m.payload[..], b"hi");
    // Another key, unknown to the server, is refused.
    let stranger = nkeys::KeyPair::new_user().seed().expect("seed");
    let bad = async_nats::ConnectOptions::with_nkey(stranger)
        .connect(url(&s))
        .await;
    assert!(bad.is_err(), "an unknown nkey must be refused");
}

#[tokio::test]
async fn user_password_authentication() {
    let s = BackgroundServer::start(Options {
        username: "derek".into(),
        password: "foobar".into(),
        ..opts()
    })
    .expect("start");
    let nc = async_nats::ConnectOptions::with_user_and_password("derek".into(), "foobar".into())
        .connect(url(&s))
        .await
        .expect("connect with the right password");
    let mut sub = nc.subscribe("auth.ok").await.expect("sub");
    nc.publish("auth.ok", "hi".into()).await.expect("pub");
    let m = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(&m.payload[..], b"hi");
    let bad = async_nats::ConnectOptions::with_user_and_password("derek".into(), "nope".into())
        .connect(url(&s))
        .await;
    assert!(bad.is_err(), "a wrong password must be refused");
}

#[tokio::test]
async fn permissions_violation_is_reported_and_connection_stays_up() {
    use natsd::auth::{Permissions, SubjectPermission, User};
    let s = BackgroundServer::start(Options {
        users: vec![User {
            username: "limited".into(),
            password: "pwd".into(),
            permissions: Some(Permissions {
                publish: Some(SubjectPermission {
                    allow: Some(vec!["allowed.>".into()]),
                    deny: None,
                }),
                subscribe: Some(SubjectPermission {
                    allow: Some(vec!["allowed.>".into()]),
                    deny: None,
                }),
                response: None,
            }),
            account: String::new(),
            ..Default::default()
        }],
        ..opts()
    })
    .expect("start");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let nc = async_nats::ConnectOptions::with_user_and_password("limited".into(), "pwd".into())
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let async_nats::Event::ServerError(e) = event {
                    let _ = tx.send(e.to_string());
                }
            }
        })
        .connect(url(&s))
        .await
        .expect("connect");
    nc.publish("forbidden.x", "no".into()).await.expect("pub");
    nc.flush().await.expect("flush");
    let err = tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("in time")
        .expect("an error event");
    assert!(
        err.contains("Permissions Violation for Publish to \"forbidden.x\""),
        "{err}"
    );
    // The connection stays up: allowed traffic still flows.
    let mut sub = nc.subscribe("allowed.a").await.expect("sub");
    nc.publish("allowed.a", "yes".into()).await.expect("pub");
    let m = tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("in time")
        .expect("msg");
    assert_eq!(&m.payload[..], b"yes");
    assert_eq!(
        nc.connection_state(),
        async_nats::connection::State::Connected
    );
}
