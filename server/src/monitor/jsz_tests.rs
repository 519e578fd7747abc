#![allow(clippy::unwrap_used)]

use super::*;

fn stream(
    name: &str,
    storage: StorageType,
    max_bytes: i64,
    msgs: u64,
    bytes: u64,
) -> StreamSnapshot {
    StreamSnapshot {
        name: name.to_string(),
        created: GoTime::from_unix_nanos(1_000),
        config: StreamConfig {
            name: name.to_string(),
            storage,
            max_bytes,
            ..StreamConfig::default()
        },
        state: StreamState {
            msgs,
            bytes,
            ..StreamState::default()
        },
        consumers: Vec::new(),
    }
}

fn account(name: &str, streams: Vec<StreamSnapshot>) -> AccountSnapshot {
    AccountSnapshot {
        name: name.to_string(),
        max_memory: -1,
        max_store: 4096,
        memory: 10,
        store: 20,
        api_total: 3,
        api_errors: 1,
        streams,
    }
}

fn snap() -> JsSnapshot {
    JsSnapshot {
        config: JetStreamConfig {
            max_memory: 1 << 20,
            max_store: 1 << 30,
            store_dir: "/tmp/js/jetstream".into(),
            ..JetStreamConfig::default()
        },
        limits: JsLimitOpts::default(),
        api_total: 7,
        api_errors: 2,
        accounts: vec![
            account(
                "A",
                vec![
                    stream("M", StorageType::Memory, 100, 2, 30),
                    stream("F", StorageType::File, -1, 1, 12),
                ],
            ),
            account("B", vec![stream("G", StorageType::File, 500, 4, 40)]),
        ],
    }
}

#[test]
fn disabled_and_leader_only() {
    let info = build_jsz("ID", "n", GoTime::ZERO, None, &JszOptions::default()).unwrap();
    assert!(info.disabled);
    assert_eq!(info.id, "ID");
    let v = serde_json::to_value(&info).unwrap();
    assert_eq!(
        v["config"],
        serde_json::json!({"max_memory": 0, "max_storage": 0})
    );
    assert!(v.get("limits").is_none());
    assert_eq!(v["api"]["level"], 0);
    let opts = JszOptions {
        leader_only: true,
        ..JszOptions::default()
    };
    assert_eq!(
        build_jsz("ID", "n", GoTime::ZERO, None, &opts).unwrap_err(),
        SKIP_ZREQ
    );
}

#[test]
fn totals_over_every_account() {
    let s = snap();
    let info = build_jsz("ID", "n", GoTime::ZERO, Some(&s), &JszOptions::default()).unwrap();
    assert!(!info.disabled);
    assert_eq!(info.streams, 3);
    assert_eq!(info.messages, 7);
    assert_eq!(info.bytes, 82);
    assert_eq!(info.total, 2);
    assert_eq!(info.stats.accounts, 2);
    assert_eq!(info.stats.memory, 20);
    assert_eq!(info.stats.storage, 40);
    assert_eq!(info.stats.reserved_memory, 100);
    assert_eq!(info.stats.reserved_storage, 500);
    assert_eq!(info.stats.api.level, API_LEVEL);
    assert_eq!((info.stats.api.total, info.stats.api.errors), (7, 2));
    assert!(info.account_details.is_empty());
    assert_eq!(info.streams_leader, 0);
    let v = serde_json::to_value(&info).unwrap();
    assert_eq!(v["limits"], serde_json::json!({}));
    assert_eq!(v["config"]["store_dir"], "/tmp/js/jetstream");
    assert!(v.get("account_details").is_none());
    assert!(v.get("streams_leader").is_none());
    let raft = JszOptions {
        raft_groups: true,
        ..JszOptions::default()
    };
    let info = build_jsz("ID", "n", GoTime::ZERO, Some(&s), &raft).unwrap();
    assert_eq!(info.streams_leader, 3);
}

#[test]
fn accounts_paged_and_filtered() {
    let s = snap();
    let names = |o: JszOptions| -> Vec<String> {
        build_jsz("ID", "n", GoTime::ZERO, Some(&s), &o)
            .unwrap()
            .account_details
            .into_iter()
            .map(|d| d.name)
            .collect()
    };
    let accounts = JszOptions {
        accounts: true,
        ..JszOptions::default()
    };
    assert_eq!(names(accounts.clone()), ["A", "B"]);
    assert_eq!(
        names(JszOptions {
            limit: 1,
            offset: 1,
            ..accounts.clone()
        }),
        ["B"]
    );
    assert!(names(JszOptions {
        offset: 10,
        ..accounts.clone()
    })
    .is_empty());
    assert_eq!(
        names(JszOptions {
            offset: -3,
            limit: 1,
            ..accounts.clone()
        }),
        ["A"]
    );
    // A named account wins over paging; an unknown one falls back to `accounts`.
    assert_eq!(
        names(JszOptions {
            account: "B".into(),
            ..JszOptions::default()
        }),
        ["B"]
    );
    assert!(names(JszOptions {
        account: "X".into(),
        streams: true,
        ..JszOptions::default()
    })
    .is_empty());
    assert_eq!(
        names(JszOptions {
            account: "X".into(),
            ..accounts
        }),
        ["A", "B"]
    );
    // Streams without an account list every account.
    assert_eq!(
        names(JszOptions {
            streams: true,
            ..JszOptions::default()
        }),
        ["A", "B"]
    );
}

#[test]
fn account_detail_with_streams_and_config() {
    let s = snap();
    let plain = account_detail(&s.accounts[0], DetailOptions::default(), "srv");
    assert_eq!((plain.name.as_str(), plain.id.as_str()), ("A", "A"));
    assert_eq!(plain.stats.reserved_memory, u64::MAX);
    assert_eq!(plain.stats.reserved_storage, 4096);
    assert_eq!((plain.stats.memory, plain.stats.storage), (10, 20));
    assert_eq!((plain.stats.api.total, plain.stats.api.errors), (3, 1));
    assert_eq!(plain.stats.api.level, 0);
    assert!(plain.streams.is_empty());
    let v = serde_json::to_value(&plain).unwrap();
    assert!(v.get("stream_detail").is_none());
    assert_eq!(v["reserved_memory"], serde_json::json!(u64::MAX));

    let streams = DetailOptions {
        streams: true,
        ..DetailOptions::default()
    };
    let d = account_detail(&s.accounts[0], streams, "srv");
    assert_eq!(d.streams.len(), 2);
    assert_eq!(d.streams[0].name, "M");
    assert_eq!(d.streams[0].state.msgs, 2);
    assert_eq!(d.streams[0].cluster.as_ref().unwrap().leader, "srv");
    assert!(d.streams[0].config.is_none());
    assert!(d.streams[0].consumer.is_empty());
    let v = serde_json::to_value(&d.streams[0]).unwrap();
    assert_eq!(v["cluster"], serde_json::json!({"leader": "srv"}));
    assert!(v.get("config").is_none());
    assert!(v.get("consumer_detail").is_none());
    assert!(v.get("mirror").is_none());
    let with_cfg = DetailOptions {
        config: true,
        ..streams
    };
    let d = account_detail(&s.accounts[0], with_cfg, "srv");
    assert_eq!(d.streams[1].config.as_ref().unwrap().name, "F");
}

#[test]
fn consumers_drop_their_config_unless_asked() {
    let mut s = snap();
    s.accounts[0].streams[0].consumers = vec![serde_json::json!({"name": "C", "config": {}})];
    let o = DetailOptions {
        streams: true,
        consumers: true,
        ..DetailOptions::default()
    };
    let d = account_detail(&s.accounts[0], o, "srv");
    assert_eq!(d.streams[0].consumer, [serde_json::json!({"name": "C"})]);
    let d = account_detail(&s.accounts[0], DetailOptions { config: true, ..o }, "srv");
    assert!(d.streams[0].consumer[0].get("config").is_some());
}

#[test]
fn account_request_errors_like_go() {
    let s = snap();
    let o = |a: &str| JszOptions {
        account: a.into(),
        ..JszOptions::default()
    };
    assert_eq!(
        build_jsz_account(None, true, "n", &o("A")).unwrap_err(),
        "jetstream not enabled"
    );
    assert_eq!(
        build_jsz_account(Some(&s), false, "n", &o("Z")).unwrap_err(),
        "account \"Z\" not found"
    );
    assert_eq!(
        build_jsz_account(Some(&s), true, "n", &o("Z")).unwrap_err(),
        "account \"Z\" not jetstream enabled"
    );
    assert_eq!(
        build_jsz_account(Some(&s), true, "n", &o("B"))
            .unwrap()
            .name,
        "B"
    );
}

#[test]
fn varz_section_and_statsz() {
    let v = varz_section(&snap());
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["config"]["max_memory"], 1 << 20);
    assert_eq!(j["stats"]["api"]["level"], API_LEVEL);
    assert_eq!(j["limits"], serde_json::json!({}));
    assert!(j.get("meta").is_none());
    let off = serde_json::to_value(JetStreamVarz::default()).unwrap();
    assert_eq!(off, serde_json::json!({}));
}

fn view() -> HealthView {
    let st = |name: &str, loaded: bool| StreamEntry {
        name: name.to_string(),
        loaded,
        write_error: None,
        consumers: vec!["C".to_string()],
    };
    HealthView {
        accounts: vec![
            AccountEntry {
                name: "$G".into(),
                resolved: true,
                streams: vec![st("S", true), st("T", true)],
            },
            AccountEntry {
                name: "ONE".into(),
                resolved: true,
                streams: vec![st("X", true)],
            },
        ],
    }
}

fn check(view: &HealthView, opts: HealthzOptions) -> HealthStatus {
    let mut h = HealthStatus {
        status: "ok".into(),
        ..HealthStatus::default()
    };
    standalone_health(view, &opts, &mut h);
    h
}

#[test]
fn standalone_health_ok_and_not_found() {
    let v = view();
    let h = check(&v, HealthzOptions::default());
    assert_eq!(
        (h.status.as_str(), h.status_code, h.error.as_str()),
        ("ok", 0, "")
    );
    let h = check(
        &v,
        HealthzOptions {
            account: "ONE".into(),
            stream: "X".into(),
            consumer: "C".into(),
            ..HealthzOptions::default()
        },
    );
    assert_eq!(h.status, "ok");
    let h = check(
        &v,
        HealthzOptions {
            account: "abc".into(),
            ..HealthzOptions::default()
        },
    );
    assert_eq!(h.status, "unavailable");
    assert_eq!(h.status_code, 404);
    assert_eq!(h.error, "JetStream account \"abc\" not found");
    let h = check(
        &v,
        HealthzOptions {
            account: "ONE".into(),
            stream: "abc".into(),
            details: true,
            ..HealthzOptions::default()
        },
    );
    assert_eq!(h.status_code, 404);
    assert_eq!(
        h.errors,
        [HealthzError {
            kind: "STREAM".into(),
            account: "ONE".into(),
            stream: "abc".into(),
            consumer: String::new(),
            error: "JetStream stream \"abc\" not found on account \"ONE\"".into(),
        }]
    );
    let h = check(
        &v,
        HealthzOptions {
            account: "ONE".into(),
            stream: "X".into(),
            consumer: "abc".into(),
            ..HealthzOptions::default()
        },
    );
    assert_eq!(
        h.error,
        "JetStream consumer \"abc\" not found for stream \"X\" on account \"ONE\""
    );
}

#[test]
fn standalone_health_unrecovered_streams() {
    let mut v = view();
    v.accounts[0].streams[0].loaded = false;
    v.accounts[0].streams[1].loaded = false;
    let h = check(&v, HealthzOptions::default());
    assert_eq!(h.status, "unavailable");
    assert_eq!(h.status_code, 0);
    assert_eq!(h.error, "JetStream stream '$G > S' could not be recovered");
    let h = check(
        &v,
        HealthzOptions {
            details: true,
            ..HealthzOptions::default()
        },
    );
    assert_eq!(h.errors.len(), 2);
    assert_eq!(h.errors[1].kind, "STREAM");
    assert_eq!(h.errors[1].stream, "T");
    // Another account's streams are not looked at.
    let h = check(
        &v,
        HealthzOptions {
            account: "ONE".into(),
            ..HealthzOptions::default()
        },
    );
    assert_eq!(h.error, "");
    v.accounts[1].resolved = false;
    let h = check(
        &v,
        HealthzOptions {
            account: "ONE".into(),
            ..HealthzOptions::default()
        },
    );
    assert_eq!(h.error, "JetStream account 'ONE' could not be resolved");
}

#[test]
fn unavailable_when_not_running() {
    let mut h = HealthStatus::default();
    jetstream_unavailable(&mut h, false);
    assert_eq!(h.status, "unavailable");
    assert_eq!(h.status_code, 503);
    assert_eq!(h.error, "JetStream not enabled (10076)");
    let mut h = HealthStatus::default();
    jetstream_unavailable(&mut h, true);
    assert_eq!(h.errors[0].kind, "JETSTREAM");
    assert_eq!(h.errors[0].error, "JetStream not enabled (10076)");
}
