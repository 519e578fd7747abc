//! End-to-end JetStream tests with the real async-nats client: streams created, used,
//! and found again after a restart.

use async_nats::jetstream::{self, stream};
use natsd::server::BackgroundServer;

mod common;
use common::jetstream_options as opts;

fn url(s: &BackgroundServer) -> String {
    format!("nats://{}", s.addr)
}

#[tokio::test]
async fn streams_store_acknowledge_and_answer_info() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    assert!(s.shared().info().jetstream);
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc);
    let mut st = js
        .create_stream(stream::Config {
            name: "ORDERS".into(),
            subjects: vec!["orders.>".into()],
            ..Default::default()
        })
        .await
        .expect("create");
    assert_eq!(st.cached_info().config.name, "ORDERS");
    assert_eq!(st.cached_info().config.max_messages, -1);
    for i in 1..=3u64 {
        let ack = js
            .publish(format!("orders.{i}"), format!("order {i}").into())
            .await
            .expect("publish")
            .await
            .expect("ack");
        assert_eq!(ack.stream, "ORDERS");
        assert_eq!(ack.sequence, i);
        assert!(!ack.duplicate);
    }
    let info = st.info().await.expect("info");
    assert_eq!(info.state.messages, 3);
    assert_eq!(info.state.first_sequence, 1);
    assert_eq!(info.state.last_sequence, 3);
    let m = st.get_raw_message(2).await.expect("get");
    assert_eq!(m.subject.as_str(), "orders.2");
    assert_eq!(&m.payload[..], b"order 2");
    let m = st
        .get_last_raw_message_by_subject("orders.3")
        .await
        .expect("last");
    assert_eq!(m.sequence, 3);
    assert!(st.delete_message(1).await.expect("delete"));
    assert_eq!(st.info().await.expect("info").state.messages, 2);
    // A second stream on the same subjects is refused.
    let err = js
        .create_stream(stream::Config {
            name: "OTHER".into(),
            subjects: vec!["orders.*".into()],
            ..Default::default()
        })
        .await
        .expect_err("overlap");
    assert!(err.to_string().contains("subjects overlap"), "{err}");
    let names: Vec<String> = futures::TryStreamExt::try_collect(js.stream_names())
        .await
        .expect("names");
    assert_eq!(names, vec!["ORDERS".to_string()]);
    js.delete_stream("ORDERS").await.expect("delete stream");
    assert!(js.get_stream("ORDERS").await.is_err());
}

#[tokio::test]
async fn duplicates_are_detected_by_msg_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc);
    js.create_stream(stream::Config {
        name: "D".into(),
        subjects: vec!["d".into()],
        storage: stream::StorageType::Memory,
        ..Default::default()
    })
    .await
    .expect("create");
    let publish = |id: &'static str| {
        let js = js.clone();
        async move {
            js.send_publish(
                "d",
                jetstream::context::Publish::build()
                    .payload("x".into())
                    .message_id(id),
            )
            .await
            .expect("publish")
            .await
            .expect("ack")
        }
    };
    let a = publish("1").await;
    let b = publish("1").await;
    let c = publish("2").await;
    assert_eq!((a.sequence, a.duplicate), (1, false));
    assert_eq!((b.sequence, b.duplicate), (1, true));
    assert_eq!((c.sequence, c.duplicate), (2, false));
}

#[tokio::test]
async fn file_streams_come_back_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut s = BackgroundServer::start(opts(dir.path())).expect("start");
        let nc = async_nats::connect(url(&s)).await.expect("connect");
        let js = jetstream::new(nc);
        js.create_stream(stream::Config {
            name: "KEEP".into(),
            subjects: vec!["keep.*".into()],
            ..Default::default()
        })
        .await
        .expect("create");
        for i in 0..10 {
            js.publish(format!("keep.{}", i % 2), "v".into())
                .await
                .expect("publish")
                .await
                .expect("ack");
        }
        s.shutdown();
    }
    let meta = dir.path().join("jetstream/$G/streams/KEEP/meta.inf");
    assert!(meta.exists(), "{} missing", meta.display());
    let s = BackgroundServer::start(opts(dir.path())).expect("restart");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc);
    let mut st = js.get_stream("KEEP").await.expect("recovered");
    let info = st.info().await.expect("info");
    assert_eq!(info.state.messages, 10);
    assert_eq!(info.state.last_sequence, 10);
    let ack = js
        .publish("keep.1", "w".into())
        .await
        .expect("publish")
        .await
        .expect("ack");
    assert_eq!(ack.sequence, 11);
}

#[tokio::test]
async fn stream_byte_reservations_are_checked_against_the_server_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = opts(dir.path());
    o.jetstream_max_store = 1024 * 1024;
    o.jetstream_max_store_set = true;
    o.jetstream_max_memory = 1024 * 1024;
    o.jetstream_max_memory_set = true;
    let s = BackgroundServer::start(o).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc);
    let err = js
        .create_stream(stream::Config {
            name: "BIG".into(),
            max_bytes: 2 * 1024 * 1024,
            ..Default::default()
        })
        .await
        .expect_err("too big");
    assert!(
        err.to_string()
            .contains("insufficient storage resources available"),
        "{err}"
    );
    js.create_stream(stream::Config {
        name: "FITS".into(),
        max_bytes: 512 * 1024,
        ..Default::default()
    })
    .await
    .expect("fits");
    // The second reservation no longer fits beside the first.
    let err = js
        .create_stream(stream::Config {
            name: "MORE".into(),
            max_bytes: 768 * 1024,
            ..Default::default()
        })
        .await
        .expect_err("over");
    assert!(
        err.to_string()
            .contains("insufficient storage resources available"),
        "{err}"
    );
}

#[tokio::test]
async fn pull_consumers_deliver_acknowledge_and_redeliver() {
    use async_nats::jetstream::consumer::{self, pull};
    use futures::StreamExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc);
    let st = js
        .create_stream(stream::Config {
            name: "PULL".into(),
            subjects: vec!["pull.>".into()],
            ..Default::default()
        })
        .await
        .expect("create");
    for i in 0..5 {
        js.publish(format!("pull.{i}"), format!("m{i}").into())
            .await
            .expect("publish")
            .await
            .expect("ack");
    }
    let c: consumer::PullConsumer = st
        .create_consumer(pull::Config {
            durable_name: Some("worker".into()),
            ack_wait: std::time::Duration::from_millis(500),
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut msgs = c.fetch().max_messages(3).messages().await.expect("fetch");
    let mut got = Vec::new();
    while let Some(m) = msgs.next().await {
        let m = m.expect("msg");
        got.push(m.subject.to_string());
        if got.len() < 3 {
            m.double_ack().await.expect("ack");
        }
    }
    assert_eq!(got, vec!["pull.0", "pull.1", "pull.2"]);
    let mut c = c;
    let info = c.info().await.expect("info");
    assert_eq!(info.delivered.stream_sequence, 3);
    assert_eq!(info.num_ack_pending, 1);
    assert_eq!(info.num_pending, 2);
    // The unacknowledged third message comes back after its ack wait.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let mut msgs = c.fetch().max_messages(3).messages().await.expect("fetch");
    let mut got = Vec::new();
    while let Some(m) = msgs.next().await {
        let m = m.expect("msg");
        let info = m.info().expect("info");
        got.push((m.subject.to_string(), info.delivered));
        m.ack().await.expect("ack");
    }
    assert_eq!(
        got,
        vec![
            ("pull.2".to_string(), 2),
            ("pull.3".to_string(), 1),
            ("pull.4".to_string(), 1)
        ]
    );
}

#[tokio::test]
async fn push_consumers_and_work_queues() {
    use async_nats::jetstream::consumer::{self, push};
    use futures::StreamExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc);
    let st = js
        .create_stream(stream::Config {
            name: "WQ".into(),
            subjects: vec!["wq.*".into()],
            retention: stream::RetentionPolicy::WorkQueue,
            ..Default::default()
        })
        .await
        .expect("create");
    for i in 0..3 {
        js.publish(format!("wq.{i}"), "job".into())
            .await
            .expect("publish")
            .await
            .expect("ack");
    }
    let c: consumer::PushConsumer = st
        .create_consumer(push::Config {
            durable_name: Some("pusher".into()),
            deliver_subject: "deliver.wq".into(),
            ack_policy: consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut msgs = c.messages().await.expect("messages");
    for i in 0..3 {
        let m = tokio::time::timeout(std::time::Duration::from_secs(5), msgs.next())
            .await
            .expect("in time")
            .expect("some")
            .expect("msg");
        assert_eq!(m.subject.as_str(), format!("wq.{i}"));
        m.double_ack().await.expect("ack");
    }
    // Acknowledged work is removed from a work queue.
    let mut st = st;
    let info = st.info().await.expect("info");
    assert_eq!(info.state.messages, 0);
    assert_eq!(info.state.consumer_count, 1);
}

#[tokio::test]
async fn consumers_come_back_after_a_restart_and_idle_ephemerals_go() {
    use async_nats::jetstream::consumer::{self, pull};
    use futures::StreamExt;
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut s = BackgroundServer::start(opts(dir.path())).expect("start");
        let nc = async_nats::connect(url(&s)).await.expect("connect");
        let js = jetstream::new(nc);
        let st = js
            .create_stream(stream::Config {
                name: "R".into(),
                subjects: vec!["r.>".into()],
                ..Default::default()
            })
            .await
            .expect("create");
        for i in 0..4 {
            js.publish(format!("r.{i}"), "x".into())
                .await
                .expect("publish")
                .await
                .expect("ack");
        }
        let c: consumer::PullConsumer = st
            .create_consumer(pull::Config {
                durable_name: Some("dur".into()),
                ..Default::default()
            })
            .await
            .expect("consumer");
        let mut msgs = c.fetch().max_messages(2).messages().await.expect("fetch");
        while let Some(m) = msgs.next().await {
            m.expect("msg").double_ack().await.expect("ack");
        }
        // An ephemeral with a short threshold is deleted once idle.
        let eph: consumer::PullConsumer = st
            .create_consumer(pull::Config {
                inactive_threshold: std::time::Duration::from_millis(300),
                ..Default::default()
            })
            .await
            .expect("ephemeral");
        let name = eph.cached_info().name.clone();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let found = st.consumer_info(&name).await.is_ok();
            if !found {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "ephemeral not deleted"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        s.shutdown();
    }
    let s = BackgroundServer::start(opts(dir.path())).expect("restart");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc);
    let st = js.get_stream("R").await.expect("stream");
    let mut c: consumer::PullConsumer = st.get_consumer("dur").await.expect("recovered");
    let info = c.info().await.expect("info");
    assert_eq!(info.delivered.stream_sequence, 2);
    assert_eq!(info.ack_floor.stream_sequence, 2);
    assert_eq!(info.num_pending, 2);
    let mut msgs = c.fetch().max_messages(5).messages().await.expect("fetch");
    let mut got = Vec::new();
    while let Some(m) = msgs.next().await {
        let m = m.expect("msg");
        got.push(m.subject.to_string());
        m.ack().await.expect("ack");
    }
    assert_eq!(got, vec!["r.2", "r.3"]);
}

#[tokio::test]
async fn key_value_buckets_put_get_update_and_delete() {
    use async_nats::jetstream::kv;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc);
    let bucket = js
        .create_key_value(kv::Config {
            bucket: "cfg".into(),
            history: 3,
            ..Default::default()
        })
        .await
        .expect("bucket");
    let r1 = bucket.put("color", "red".into()).await.expect("put");
    let r2 = bucket.put("size", "xl".into()).await.expect("put");
    assert_eq!((r1, r2), (1, 2));
    let v = bucket.get("color").await.expect("get").expect("some");
    assert_eq!(&v[..], b"red");
    let e = bucket.entry("color").await.expect("entry").expect("some");
    assert_eq!(e.revision, 1);
    // Optimistic update: the right revision wins, a stale one is refused.
    let r3 = bucket
        .update("color", "blue".into(), 1)
        .await
        .expect("update");
    assert_eq!(r3, 3);
    assert!(bucket.update("color", "green".into(), 1).await.is_err());
    assert!(bucket.create("color", "x".into()).await.is_err());
    bucket.delete("size").await.expect("delete");
    assert_eq!(bucket.get("size").await.expect("get"), None);
    assert_eq!(
        &bucket.get("color").await.expect("get").expect("some")[..],
        b"blue"
    );
    assert_eq!(bucket.get("nope").await.expect("get"), None);
}

#[tokio::test]
async fn mirrors_keep_sequences_and_sources_merge() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc);
    for (name, subj) in [("A", "a.>"), ("B", "b.>")] {
        js.create_stream(stream::Config {
            name: name.into(),
            subjects: vec![subj.into()],
            ..Default::default()
        })
        .await
        .expect("create");
    }
    for i in 0..3 {
        js.publish(format!("a.{i}"), "A".into())
            .await
            .expect("publish")
            .await
            .expect("ack");
        js.publish(format!("b.{i}"), "B".into())
            .await
            .expect("publish")
            .await
            .expect("ack");
    }
    let mut mirror = js
        .create_stream(stream::Config {
            name: "M".into(),
            mirror: Some(stream::Source {
                name: "A".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("mirror");
    let mut agg = js
        .create_stream(stream::Config {
            name: "AGG".into(),
            sources: Some(vec![
                stream::Source {
                    name: "A".into(),
                    ..Default::default()
                },
                stream::Source {
                    name: "B".into(),
                    filter_subject: Some("b.1".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        })
        .await
        .expect("sources");
    // Later messages follow.
    js.publish("a.9", "late".into())
        .await
        .expect("publish")
        .await
        .expect("ack");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let m = mirror.info().await.expect("info").state.messages;
        let a = agg.info().await.expect("info").state.messages;
        if m == 4 && a == 5 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mirror {m}, sources {a}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let info = mirror.info().await.expect("info");
    assert_eq!(info.state.last_sequence, 4);
    assert_eq!(info.mirror.as_ref().expect("mirror info").name, "A");
    let m = mirror.get_raw_message(4).await.expect("get");
    assert_eq!(m.subject.as_str(), "a.9");
    let m = agg
        .get_last_raw_message_by_subject("b.1")
        .await
        .expect("last");
    let src = m
        .headers
        .get("Nats-Stream-Source")
        .expect("source header")
        .to_string();
    assert_eq!(src, "B 2 b.1 > b.1");
    assert_eq!(agg.info().await.expect("info").sources.len(), 2);
}

#[tokio::test]
async fn subject_transforms_and_republish() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc.clone());
    let mut st = js
        .create_stream(stream::Config {
            name: "T".into(),
            subjects: vec!["in.>".into()],
            subject_transform: Some(stream::SubjectTransform {
                source: "in.>".into(),
                destination: "stored.>".into(),
            }),
            republish: Some(stream::Republish {
                source: "stored.>".into(),
                destination: "out.>".into(),
                headers_only: false,
            }),
            ..Default::default()
        })
        .await
        .expect("create");
    let mut out = nc.subscribe("out.>").await.expect("sub");
    nc.flush().await.expect("flush");
    for _ in 0..2 {
        js.publish("in.a", "x".into())
            .await
            .expect("publish")
            .await
            .expect("ack");
    }
    let m = st.get_raw_message(1).await.expect("get");
    assert_eq!(m.subject.as_str(), "stored.a");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let m = tokio::time::timeout(std::time::Duration::from_secs(5), out.next())
            .await
            .expect("in time")
            .expect("msg");
        assert_eq!(m.subject.as_str(), "out.a");
        let h = m.headers.expect("headers");
        assert_eq!(
            h.get(async_nats::header::NATS_STREAM)
                .map(|v| v.to_string()),
            Some("T".into())
        );
        assert_eq!(
            h.get(async_nats::header::NATS_SUBJECT)
                .map(|v| v.to_string()),
            Some("stored.a".into())
        );
        seen.push((
            h.get(async_nats::header::NATS_SEQUENCE)
                .map(|v| v.to_string()),
            h.get(async_nats::header::NATS_LAST_SEQUENCE)
                .map(|v| v.to_string()),
        ));
    }
    assert_eq!(
        seen,
        vec![
            (Some("1".into()), Some("0".into())),
            (Some("2".into()), Some("1".into()))
        ]
    );
    assert_eq!(st.info().await.expect("info").state.messages, 2);
}

#[tokio::test]
async fn counter_streams_add_increments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = BackgroundServer::start(opts(dir.path())).expect("start");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc.clone());
    // async-nats does not know `allow_msg_counter` yet: create through the API.
    let created = nc
        .request(
            "$JS.API.STREAM.CREATE.C",
            r#"{"name":"C","subjects":["c.>"],"allow_msg_counter":true,"allow_direct":true}"#
                .into(),
        )
        .await
        .expect("create");
    let created: serde_json::Value = serde_json::from_slice(&created.payload).expect("json");
    assert_eq!(created["config"]["allow_msg_counter"], true, "{created}");
    let st = js.get_stream("C").await.expect("stream");
    let incr = |n: &'static str| {
        let nc = nc.clone();
        async move {
            let mut h = async_nats::HeaderMap::new();
            h.insert("Nats-Incr", n);
            let r = nc
                .request_with_headers("c.hits", h, "".into())
                .await
                .expect("request");
            serde_json::from_slice::<serde_json::Value>(&r.payload).expect("json")
        }
    };
    assert_eq!(incr("5").await["val"], "5");
    assert_eq!(incr("-7").await["val"], "-2");
    let v = incr("+12").await;
    assert_eq!(
        (v["seq"].as_u64(), v["val"].as_str()),
        (Some(3), Some("10"))
    );
    let m = st
        .get_last_raw_message_by_subject("c.hits")
        .await
        .expect("last");
    assert_eq!(&m.payload[..], br#"{"val":"10"}"#);
    // A counter stream refuses plain messages and bad increments.
    let r = nc.request("c.hits", "x".into()).await.expect("request");
    let v: serde_json::Value = serde_json::from_slice(&r.payload).expect("json");
    assert_eq!(v["error"]["err_code"], 10169);
    assert_eq!(incr("bogus").await["error"]["err_code"], 10171);
}

/// An interest stream keeps a message its consumer ran out of deliveries for, across a
/// restart too (Go's needAck keeps what reached max deliveries until it is acked).
#[tokio::test]
async fn interest_streams_keep_messages_out_of_deliveries_after_a_restart() {
    use async_nats::jetstream::consumer::{self, pull, AckPolicy};
    use futures::StreamExt;
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut s = BackgroundServer::start(opts(dir.path())).expect("start");
        let nc = async_nats::connect(url(&s)).await.expect("connect");
        let js = jetstream::new(nc);
        let st = js
            .create_stream(stream::Config {
                name: "I".into(),
                subjects: vec!["i.>".into()],
                retention: stream::RetentionPolicy::Interest,
                ..Default::default()
            })
            .await
            .expect("create");
        let mut c: consumer::PullConsumer = st
            .create_consumer(pull::Config {
                durable_name: Some("dur".into()),
                ack_policy: AckPolicy::Explicit,
                max_deliver: 1,
                ..Default::default()
            })
            .await
            .expect("consumer");
        for subject in ["i.1", "i.2"] {
            js.publish(subject, "x".into())
                .await
                .expect("publish")
                .await
                .expect("ack");
        }
        let mut msgs = c.fetch().max_messages(1).messages().await.expect("fetch");
        let m = msgs.next().await.expect("one message").expect("msg");
        // A nak with max_deliver 1: the message is out of deliveries once it comes up.
        m.ack_with(async_nats::jetstream::AckKind::Nak(None))
            .await
            .expect("nak");
        // Its redelivery comes up at the next request and finds it out of deliveries; the
        // second message goes out instead and stays pending (above the first).
        let mut msgs = c.fetch().max_messages(1).messages().await.expect("fetch");
        let m = msgs.next().await.expect("one message").expect("msg");
        assert_eq!(m.subject.as_str(), "i.2");
        let info = c.info().await.expect("info");
        assert_eq!(info.num_ack_pending, 1, "{info:?}");
        let mut st = js.get_stream("I").await.expect("stream");
        assert_eq!(st.info().await.expect("info").state.messages, 2);
        s.shutdown();
    }
    let s = BackgroundServer::start(opts(dir.path())).expect("restart");
    let nc = async_nats::connect(url(&s)).await.expect("connect");
    let js = jetstream::new(nc);
    let mut st = js.get_stream("I").await.expect("stream");
    assert_eq!(
        st.info().await.expect("info").state.messages,
        2,
        "the message out of deliveries was dropped at the restart"
    );
}
