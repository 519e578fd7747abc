//! One stream: its configuration, its message store, and the ingest of the messages
//! published on its subjects.
//!
//! The stream listens on its subjects with a socketless internal client of its own, so
//! publishes reach it through the normal delivery path and queue up in that client's
//! buffer. The ingest task takes the whole buffer at once and stores the batch on a
//! blocking thread; a file store appends every message first and syncs once for the
//! batch (group commit), and only then are the publish acks sent. An acknowledged
//! message is therefore on stable storage, unless the stream asked for
//! `persist_mode: async` or the server runs with `sync_interval`.

use super::api::errors::{self, ApiError};
use super::api::types::{
    self, PubAck, PubAckResponse, RetentionPolicy, StorageType, StreamConfig, StreamInfo,
};
use super::dedup::DedupWindow;
use super::publish::{self, Check};
use crate::account::Account;
use crate::client::Subscription;
use crate::events::internal::{InMsg, InternalClient};
use crate::monitor::gotime::{now_nanos, GoTime};
use crate::server::ServerShared;
use natsd_store::file::{FileStore, FileStoreConfig, PendingDurable};
use natsd_store::mem::MemStore;
use natsd_store::{Store, StoreError};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

mod fast;

/// The message store under a stream.
#[derive(Clone)]
pub enum StreamStore {
    Memory(Arc<MemStore>),
    File(Arc<FileStore>),
}

impl StreamStore {
    pub fn store(&self) -> &dyn Store {
        match self {
            StreamStore::Memory(m) => m.as_ref(),
            StreamStore::File(f) => f.as_ref(),
        }
    }

    /// The keys the stream's files are encrypted with (`None`: memory, or in the clear).
    pub fn at_rest_keys(&self) -> Option<natsd_store::file::StoreKeys> {
        match self {
            StreamStore::Memory(_) => None,
            StreamStore::File(f) => f.at_rest_keys(),
        }
    }
}

/// The part of a store configuration that follows from a stream configuration.
pub fn store_config(cfg: &StreamConfig) -> natsd_store::StreamConfig {
    natsd_store::StreamConfig {
        name: cfg.name.clone(),
        subjects: cfg.subjects.clone(),
        storage: cfg.storage.into(),
        max_msgs: cfg.max_msgs,
        max_bytes: cfg.max_bytes,
        max_age: Duration::from_nanos(cfg.max_age.max(0) as u64),
        max_msgs_per_subject: cfg.max_msgs_per,
        max_msg_size: cfg.max_msg_size,
        discard: match cfg.discard {
            types::DiscardPolicy::Old => natsd_store::DiscardPolicy::Old,
            types::DiscardPolicy::New => natsd_store::DiscardPolicy::New,
        },
        discard_new_per_subject: cfg.discard_new_per,
        allow_msg_ttl: cfg.allow_msg_ttl,
        subject_delete_marker_ttl: Duration::from_nanos(cfg.subject_delete_marker_ttl.max(0) as u64),
        first_seq: cfg.first_seq,
        compression: match cfg.compression {
            types::StoreCompression::None => natsd_store::StoreCompression::None,
            types::StoreCompression::S2 => natsd_store::StoreCompression::S2,
        },
        allow_msg_schedules: cfg.allow_msg_schedules,
    }
}

/// What a stream keeps under its lock: ingest and API calls that change the stream take
/// it, so they are applied one at a time, in order.
#[derive(Debug)]
pub struct StreamInner {
    pub config: StreamConfig,
    /// The last sequence stored or skipped by this stream's ingest.
    pub last_seq: u64,
    /// The `Nats-Msg-Id` of the last message stored.
    pub last_msg_id: String,
    pub dedup: DedupWindow,
}

/// A stream.
pub struct Stream {
    pub name: String,
    pub account: Arc<Account>,
    pub created: GoTime,
    /// The stream's directory (file storage).
    pub dir: Option<PathBuf>,
    pub store: StreamStore,
    pub inner: Mutex<StreamInner>,
    /// The socketless client whose subscriptions catch the stream's subjects.
    ingest: Arc<InternalClient>,
    subs: Mutex<Vec<Arc<Subscription>>>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    closed: AtomicBool,
    /// The JetStream domain, added to publish acks.
    domain: String,
    /// The account's JetStream state, for its byte limits (set once the stream is added).
    jsa: std::sync::OnceLock<Weak<super::JsAccount>>,
    /// The status of each mirror or source origin (mirror first).
    pub sourcing: Mutex<Vec<super::sourcing::OriginStatus>>,
    /// Notified after each batch of new messages (for streams sourcing from this one).
    watch: Arc<tokio::sync::Notify>,
    /// The streams sourcing from this one take each new message as it is stored.
    pub source_taps: super::sourcing::Taps,
    /// The tasks copying from mirror or source origins.
    copy_tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    /// Direct-get subscriptions, while `allow_direct` is on.
    direct: Mutex<Option<super::direct::DirectGet>>,
    /// Wakes the housekeeping task early (a consumer with an inactive threshold came).
    housekeeping: tokio::sync::Notify,
    /// What the store asked of the stream while expiring or scheduling (subject delete
    /// markers, scheduled messages, removals), applied in order once it returns.
    store_proposals: Arc<Mutex<Vec<StoreProposal>>>,
    /// The stream's consumers, by name.
    pub consumers:
        parking_lot::RwLock<std::collections::BTreeMap<String, Arc<super::consumer::Consumer>>>,
    /// Atomic batches being published (`Nats-Batch-Id`), staged until their commit.
    batches: Mutex<super::batch::Batches>,
    /// Fast batches being published (reply subjects ending in `.$FI`).
    fast_batches: Mutex<super::fast_batch::FastBatches>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("account", &self.account.name)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A request from the store to the stream (Go's `RegisterProcessJetStreamMsg` and
/// `RegisterStorageRemoveMsg` callbacks).
#[derive(Debug)]
enum StoreProposal {
    /// Store this message as a sourced one (a subject delete marker, a scheduled message).
    Process(natsd_store::InMsg),
    /// Remove this message (aged out, not the last of its subject, with markers on).
    Remove(u64),
}

/// Why a stream could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Store(StoreError),
    Meta(std::io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Store(e) => write!(f, "{e}"),
            OpenError::Meta(e) => write!(f, "{e}"),
        }
    }
}

/// Where and how a stream's store is opened.
#[derive(Debug, Clone)]
pub struct StoreSetup {
    /// The stream's directory, for file storage.
    pub dir: PathBuf,
    /// Go's `sync_interval`; `None` keeps every acknowledged message durable.
    pub sync_interval: Option<Duration>,
    /// Encryption at rest (`jetstream { key }`), for the stream's account.
    pub keys: Option<natsd_store::file::StoreKeys>,
}

/// Opens (or creates) the store of a stream; for file storage the configuration is
/// written beside it (`meta.inf`, `meta.sum`) first.
pub fn open_store(
    cfg: &StreamConfig,
    created: GoTime,
    setup: &StoreSetup,
) -> Result<StreamStore, OpenError> {
    let scfg = store_config(cfg);
    match cfg.storage {
        StorageType::Memory => Ok(StreamStore::Memory(Arc::new(
            MemStore::new(scfg).map_err(OpenError::Store)?,
        ))),
        StorageType::File => {
            let meta = super::meta::StreamMeta {
                created,
                config: cfg.clone(),
            };
            super::meta::write_stream_meta(&setup.dir, &meta, setup.keys.as_ref())
                .map_err(OpenError::Meta)?;
            let mut fcfg = FileStoreConfig::new(&setup.dir);
            if let Some(keys) = &setup.keys {
                fcfg.set_keys(keys);
            }
            fcfg.sync_interval = match (setup.sync_interval, cfg.persist_mode) {
                (Some(d), _) => Some(d),
                // Async persistence: written at once, synced in the background.
                (None, types::PersistMode::Async) => Some(Duration::from_secs(2 * 60)),
                (None, types::PersistMode::Default) => None,
            };
            let fs = FileStore::open(fcfg, scfg, natsd_store::system_clock())
                .map_err(OpenError::Store)?;
            Ok(StreamStore::File(Arc::new(fs)))
        }
    }
}

/// Opens (or creates) the state store of consumer `name` of a stream. For a file
/// stream its configuration is written first into `<stream dir>/obs/<name>/`
/// (`meta.inf`, `meta.sum`), with the name filled in, as Go keeps it.
pub fn open_consumer_store(
    store: &StreamStore,
    stream_dir: Option<&std::path::Path>,
    stream_name: &str,
    name: &str,
    created: GoTime,
    cfg: &types::ConsumerConfig,
) -> Result<Arc<dyn natsd_store::ConsumerStore>, OpenError> {
    let mut config = cfg.clone();
    if config.name.is_empty() {
        config.name = name.to_string();
    }
    if let (StreamStore::File(_), Some(dir)) = (store, stream_dir) {
        let meta = super::meta::ConsumerMeta {
            created,
            name: name.to_string(),
            config: config.clone(),
        };
        let odir = dir.join(super::meta::CONSUMER_DIR).join(name);
        let keys = store.at_rest_keys();
        super::meta::write_consumer_meta(&odir, stream_name, &meta, keys.as_ref())
            .map_err(OpenError::Meta)?;
    }
    let scfg = natsd_store::ConsumerConfig {
        name: name.to_string(),
        ack_policy: match config.ack_policy {
            types::AckPolicy::None => natsd_store::AckPolicy::None,
            types::AckPolicy::All => natsd_store::AckPolicy::All,
            types::AckPolicy::Explicit => natsd_store::AckPolicy::Explicit,
            types::AckPolicy::FlowControl => natsd_store::AckPolicy::FlowControl,
        },
        max_deliver: config.max_deliver,
    };
    let created_ns = if created.is_zero() {
        0
    } else {
        created.unix_nanos()
    };
    store
        .store()
        .consumer_store(name, created_ns, &scfg)
        .map_err(OpenError::Store)
}

impl Stream {
    /// A stream over an opened store; `start` makes it listen.
    pub fn new(
        account: Arc<Account>,
        config: StreamConfig,
        created: GoTime,
        dir: Option<PathBuf>,
        store: StreamStore,
        domain: String,
    ) -> Arc<Stream> {
        let state = store.store().fast_state();
        let (dedup, last_msg_id) = rebuild_dedupe(store.store(), config.duplicates, now_nanos());
        let ingest = Arc::new(InternalClient::new(0, account.clone()));
        let store_proposals = Arc::new(Mutex::new(Vec::new()));
        let queue = store_proposals.clone();
        store
            .store()
            .register_process_jetstream_msg(Arc::new(move |m| {
                queue.lock().push(StoreProposal::Process(m));
            }));
        let queue = store_proposals.clone();
        store
            .store()
            .register_storage_remove_msg(Arc::new(move |seq| {
                queue.lock().push(StoreProposal::Remove(seq));
            }));
        let stream = Arc::new(Stream {
            name: config.name.clone(),
            account,
            created,
            dir,
            store,
            inner: Mutex::new(StreamInner {
                config,
                last_seq: state.last_seq,
                last_msg_id,
                dedup,
            }),
            ingest,
            subs: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            domain,
            jsa: std::sync::OnceLock::new(),
            consumers: parking_lot::RwLock::new(std::collections::BTreeMap::new()),
            direct: Mutex::new(None),
            sourcing: Mutex::new(Vec::new()),
            watch: Arc::new(tokio::sync::Notify::new()),
            source_taps: Default::default(),
            housekeeping: tokio::sync::Notify::new(),
            copy_tasks: Mutex::new(Vec::new()),
            store_proposals,
            batches: Mutex::new(super::batch::Batches::default()),
            fast_batches: Mutex::new(super::fast_batch::FastBatches::default()),
        });
        // Consumers hear of each message the store removes (Go's storeUpdates).
        let weak = Arc::downgrade(&stream);
        stream.store().register_storage_updates(Arc::new(
            move |msgs, _bytes, seq, _subject: &str| {
                if msgs != -1 || seq == 0 {
                    return;
                }
                if let Some(s) = weak.upgrade() {
                    for c in s.consumers.read().values() {
                        c.message_removed(seq);
                    }
                }
            },
        ));
        stream
    }

    /// Ties the stream to its account's JetStream state (limits and usage).
    pub fn set_account(&self, jsa: &Arc<super::JsAccount>) {
        let _ = self.jsa.set(Arc::downgrade(jsa));
    }

    /// Go's `wouldExceedLimits`: storing this message would take the account past its
    /// memory or storage limit.
    fn would_exceed_account_limits(
        &self,
        storage: StorageType,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
    ) -> bool {
        let Some(jsa) = self.jsa.get().and_then(Weak::upgrade) else {
            return false;
        };
        let limits = jsa.limits;
        let (limit, size) = match storage {
            StorageType::Memory => (
                limits.max_memory,
                natsd_store::mem::mem_store_msg_size(subject, hdr, msg),
            ),
            StorageType::File => (
                limits.max_store,
                natsd_store::file::record::record_len(subject.len(), hdr.len(), msg.len()) as u64,
            ),
        };
        if limit < 0 {
            return false;
        }
        let (mem, file) = jsa.usage();
        let in_use = if storage == StorageType::Memory {
            mem
        } else {
            file
        };
        in_use.saturating_add(size) > limit as u64
    }

    pub fn config(&self) -> StreamConfig {
        self.inner.lock().config.clone()
    }

    pub fn store(&self) -> &dyn Store {
        self.store.store()
    }

    /// Stores every message queued to the stream so far, on the calling thread, after any
    /// batch the ingest task is storing. An API request that must see what its client
    /// published before it (stream info, a message get) calls this first, as the ingest
    /// task may not have run yet. Returns whether the ingest client is closed, and how
    /// many messages were taken.
    pub fn ingest_queued(&self, server: &Arc<ServerShared>) -> (bool, usize) {
        self.ingest.drain_with(|frames| {
            let msgs: Vec<InMsg> = frames.into_iter().map(|(_, m)| m).collect();
            self.process_batch(server, msgs, false);
        })
    }

    /// Subscribes to the stream's subjects and starts its ingest and housekeeping tasks.
    pub fn start(self: &Arc<Self>, server: &Arc<ServerShared>) -> Result<(), String> {
        self.subscribe_subjects(server)?;
        self.sync_direct_get(server)?;
        *self.copy_tasks.lock() = super::sourcing::start(server, self);
        let ingest = tokio::spawn(ingest_loop(Arc::downgrade(server), Arc::downgrade(self)));
        let housekeeping = tokio::spawn(housekeeping_loop(
            Arc::downgrade(server),
            Arc::downgrade(self),
        ));
        let mut tasks = self.tasks.lock();
        tasks.push(ingest.abort_handle());
        tasks.push(housekeeping.abort_handle());
        Ok(())
    }

    /// (Re)subscribes to the configured subjects (after an update changed them).
    pub fn subscribe_subjects(self: &Arc<Self>, server: &ServerShared) -> Result<(), String> {
        let subjects = self.inner.lock().config.subjects.clone();
        let mut subs = self.subs.lock();
        for sub in subs.drain(..) {
            self.ingest.unsubscribe(server, &sub);
        }
        for subject in subjects {
            // Deliveries land in the ingest client's buffer; the ingest task reads them.
            let noop: crate::events::internal::Handler = Arc::new(|_, _, _| {});
            let sub = self.ingest.subscribe(&self.account, &subject, None, noop)?;
            subs.push(sub);
        }
        Ok(())
    }

    /// Subscribes or drops the direct-get subjects as `allow_direct` and `mirror_direct` say.
    pub fn sync_direct_get(self: &Arc<Self>, server: &Arc<ServerShared>) -> Result<(), String> {
        super::direct::sync(&mut self.direct.lock(), server, self)
    }

    /// Stops listening and stops the store (the file store saves its index).
    pub fn stop(&self, server: &ServerShared) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(d) = self.direct.lock().take() {
            d.stop(server);
        }
        for t in self.copy_tasks.lock().drain(..) {
            t.abort();
        }
        for c in self.consumers.read().values() {
            c.stop(server);
        }
        for sub in self.subs.lock().drain(..) {
            self.ingest.unsubscribe(server, &sub);
        }
        self.ingest.close(server);
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
        self.batches.lock().clear();
        self.fast_batches.lock().clear();
        let _ = self.store().stop();
    }

    /// Stops the stream and removes its messages and directory.
    pub fn delete(&self, server: &ServerShared) -> Result<(), StoreError> {
        self.closed.store(true, Ordering::Release);
        if let Some(d) = self.direct.lock().take() {
            d.stop(server);
        }
        for t in self.copy_tasks.lock().drain(..) {
            t.abort();
        }
        let consumers: Vec<_> = std::mem::take(&mut *self.consumers.write())
            .into_values()
            .collect();
        for c in consumers {
            c.delete(server);
        }
        for sub in self.subs.lock().drain(..) {
            self.ingest.unsubscribe(server, &sub);
        }
        self.ingest.close(server);
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
        self.batches.lock().clear();
        self.fast_batches.lock().clear();
        self.store().delete(true)?;
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The stream's info as the API reports it.
    pub fn info(&self, subjects_filter: Option<&str>, deleted_details: bool) -> StreamInfo {
        let config = self.config();
        let store = self.store();
        let mut state: types::StreamState = (&store.state()).into();
        state.consumers = self.consumers.read().len() as u64;
        if !deleted_details {
            state.deleted.clear();
        }
        if let Some(filter) = subjects_filter.filter(|f| !f.is_empty()) {
            state.subjects = store.subjects_totals(filter).into_iter().collect();
        }
        let now = crate::monitor::gotime::now_nanos();
        let origins: Vec<types::StreamSourceInfo> =
            self.sourcing.lock().iter().map(|o| o.info(now)).collect();
        let (mirror, sources) = if config.mirror.is_some() {
            (origins.into_iter().next(), Vec::new())
        } else {
            (None, origins)
        };
        StreamInfo {
            config,
            created: self.created,
            state,
            domain: String::new(),
            cluster: None,
            mirror,
            sources,
            alternates: Vec::new(),
            timestamp: GoTime::now(),
        }
    }

    /// The answer to a publish that was not stored.
    fn reject(&self, error: ApiError) -> PubAnswer {
        let resp = PubAckResponse {
            error: Some(error),
            ack: Some(PubAck {
                stream: self.name.clone(),
                ..Default::default()
            }),
        };
        PubAnswer {
            body: crate::monitor::http::to_go_json_compact(&resp),
            stored: false,
        }
    }

    /// Go's publish ack text: `{"stream":"S","seq":N}` (with the domain when set).
    fn ack(&self, seq: u64, duplicate: bool) -> PubAnswer {
        let mut out = format!("{{\"stream\":{}", json_string(&self.name));
        if !self.domain.is_empty() {
            out.push_str(&format!(",\"domain\":{}", json_string(&self.domain)));
        }
        out.push_str(&format!(",\"seq\":{seq}"));
        if duplicate {
            out.push_str(",\"duplicate\": true");
        }
        out.push('}');
        PubAnswer {
            body: out.into_bytes(),
            stored: true,
        }
    }

    /// A counter's publish ack: `{"stream":"S","seq":N,"val":"<total>"}`.
    fn ack_with_value(&self, seq: u64, value: &str) -> PubAnswer {
        let mut out = self.ack(seq, false);
        out.body.pop();
        out.body
            .extend_from_slice(format!(",\"val\":{}}}", json_string(value)).as_bytes());
        out
    }

    /// Stores a batch of published messages and answers each; the answers to stored
    /// messages go out only once the batch is durable. Returns, for each message in
    /// order, whether it is in the stream now (stored, or a duplicate of a stored one).
    fn process_batch(&self, server: &ServerShared, msgs: Vec<InMsg>, sourced: bool) -> Vec<bool> {
        let count = msgs.len();
        let mut outcomes = Vec::with_capacity(count);
        let mut replies: Vec<(String, Vec<u8>)> = Vec::new();
        let mut pending: Vec<PendingDurable> = Vec::new();
        let mut republish: Vec<Republished> = Vec::new();
        let first_new;
        {
            let mut inner = self.inner.lock();
            first_new = self.store().fast_state().last_seq + 1;
            let now = now_nanos();
            let window = inner.config.duplicates;
            inner.dedup.expire(now, window);
            for msg in msgs {
                if self.is_closed() {
                    return vec![false; count];
                }
                let origin = publish::Origin {
                    sourced,
                    now,
                    ..Default::default()
                };
                // Fast batch messages are told by their reply subject.
                if let Some(parsed) = (!sourced).then(|| self.fast_batch_of(&msg)).flatten() {
                    let out = (&mut pending, &mut republish, &mut replies);
                    let stored = self.process_fast(&mut inner, server, &msg, &parsed, now, out);
                    outcomes.push(stored);
                    continue;
                }
                let batch_id = msg.header.as_deref().and_then(super::batch::batch_id);
                let answer = match batch_id {
                    Some(id) if !sourced => {
                        let id = id.to_string();
                        let out = (&mut pending, &mut republish);
                        self.process_atomic(&mut inner, server, &msg, &id, now, out)
                    }
                    _ => self.process_one(
                        &mut inner,
                        server,
                        &msg,
                        origin,
                        &mut pending,
                        &mut republish,
                    ),
                };
                outcomes.push(answer.as_ref().is_some_and(|a| a.stored));
                if let Some(answer) = answer {
                    if !msg.reply.is_empty() && !inner.config.no_ack {
                        replies.push((msg.reply, answer.body));
                    }
                }
            }
        }
        if let StreamStore::File(fs) = &self.store {
            for p in pending {
                if let Err(e) = fs.wait_durable_for(p) {
                    // Nothing of this batch may be acknowledged now.
                    crate::error!(
                        server.logging,
                        "JetStream failed to sync stream '{} > {}': {e}",
                        self.account.name,
                        self.name
                    );
                    return vec![false; count];
                }
            }
        }
        // Sources too (the origin may remove a message before they copy it).
        self.source_taps.stored(self.store(), first_new);
        // Consumers see the batch before its publishers are acknowledged.
        let consumers: Vec<_> = self.consumers.read().values().cloned().collect();
        for c in &consumers {
            c.deliver_new(server);
        }
        for r in republish {
            crate::events::internal::publish(
                server,
                &self.ingest,
                &self.account,
                &r.subject,
                None,
                Some(&r.header),
                &r.payload,
            );
        }
        for (reply, answer) in replies {
            crate::events::internal::publish(
                server,
                &self.ingest,
                &self.account,
                &reply,
                None,
                None,
                &answer,
            );
        }
        self.send_batch_advisories(server);
        self.watch.notify_waiters();
        outcomes
    }

    /// Stores messages as if published (sourced messages); acks go nowhere.
    /// Stores sourced messages; for each, whether it is in the stream now.
    pub fn store_batch(&self, server: &ServerShared, msgs: Vec<InMsg>) -> Vec<bool> {
        self.process_batch(server, msgs, true)
    }

    /// Applies what the store asked for while expiring or scheduling, in its order:
    /// messages it produced are stored as sourced ones, removals are made.
    fn apply_store_proposals(&self, server: &ServerShared) {
        let proposals = std::mem::take(&mut *self.store_proposals.lock());
        let mut msgs = Vec::new();
        for p in proposals {
            match p {
                // A marker proposed twice (expiry ran again before the first was
                // stored) is stored once: the subject already ends with one.
                StoreProposal::Process(m)
                    if natsd_store::is_subject_delete_marker(&m.hdr) && {
                        if !msgs.is_empty() {
                            self.process_batch(server, std::mem::take(&mut msgs), true);
                        }
                        self.store()
                            .load_last_msg(&m.subject)
                            .is_ok_and(|last| natsd_store::is_subject_delete_marker(&last.hdr))
                    } => {}
                StoreProposal::Process(m) => msgs.push(InMsg {
                    subject: m.subject,
                    reply: String::new(),
                    header: (!m.hdr.is_empty()).then_some(m.hdr),
                    payload: m.msg,
                    publisher: 0,
                }),
                StoreProposal::Remove(seq) => {
                    if !msgs.is_empty() {
                        self.process_batch(server, std::mem::take(&mut msgs), true);
                    }
                    let _guard = self.inner.lock();
                    let _ = self.store().remove_msg(seq);
                }
            }
        }
        if !msgs.is_empty() {
            self.process_batch(server, msgs, true);
        }
    }

    /// Has the housekeeping task look again at what is due (a new consumer may have to
    /// go sooner than its next planned wake).
    pub fn wake_housekeeping(&self) {
        self.housekeeping.notify_one();
    }

    /// Notified after each batch of new messages.
    pub fn watch(&self) -> Arc<tokio::sync::Notify> {
        self.watch.clone()
    }

    /// Stores a mirrored message at its origin sequence and time; sequences the origin
    /// skipped (deleted, filtered out) are skipped here too.
    pub fn store_mirrored(&self, m: &natsd_store::StoreMsg) -> Result<(), StoreError> {
        {
            let mut inner = self.inner.lock();
            let store = self.store();
            let state = store.fast_state();
            if m.seq <= state.last_seq {
                return Ok(());
            }
            if m.seq > state.last_seq + 1 {
                if state.msgs == 0 {
                    store.compact(m.seq)?;
                } else {
                    store.skip_msgs(state.last_seq + 1, m.seq - state.last_seq - 1)?;
                }
            }
            let ttl = if inner.config.allow_msg_ttl {
                natsd_store::message_ttl(&m.hdr).unwrap_or(0)
            } else {
                0
            };
            store.store_raw_msg(&m.subject, &m.hdr, &m.msg, m.seq, m.ts, ttl, false)?;
            inner.last_seq = m.seq;
        }
        for c in self.consumers.read().values() {
            c.notify();
        }
        self.watch.notify_waiters();
        Ok(())
    }

    /// Checks and stores one message; returns the answer for the publisher.
    fn process_one(
        &self,
        inner: &mut StreamInner,
        server: &ServerShared,
        msg: &InMsg,
        origin: publish::Origin,
        pending: &mut Vec<PendingDurable>,
        republish: &mut Vec<Republished>,
    ) -> Option<PubAnswer> {
        // The input transform applies before anything else (Go's `itr`).
        let owned;
        let msg = match transform_subject(inner.config.subject_transform.as_ref(), &msg.subject) {
            Some(subject) => {
                owned = InMsg {
                    subject,
                    ..msg.clone()
                };
                &owned
            }
            None => msg,
        };
        let hdr: &[u8] = msg.header.as_deref().unwrap_or_default();
        let store = self.store();
        let check = publish::check(
            &inner.config,
            inner.last_seq,
            &inner.last_msg_id,
            &inner.dedup,
            &msg.subject,
            hdr,
            &msg.payload,
            server.opts().max_payload as i64,
            origin,
            |subject| store.load_last_msg(subject),
        );
        let accepted = match check {
            Check::Reject(e) => return Some(self.reject(e)),
            Check::Duplicate(seq) => return Some(self.ack(seq, true)),
            Check::Accept(a) => a,
        };
        // Interest retention keeps nothing no consumer is interested in.
        if inner.config.retention == RetentionPolicy::Interest
            && !self
                .consumers
                .read()
                .values()
                .any(|c| c.interested_in(&msg.subject))
        {
            return match store.skip_msg_no_interest(0) {
                Ok(seq) => {
                    inner.last_seq = seq;
                    inner.last_msg_id = accepted.msg_id.clone();
                    if !accepted.msg_id.is_empty() {
                        inner.dedup.store(&accepted.msg_id, seq, now_nanos());
                    }
                    Some(self.ack(seq, false))
                }
                Err(e) => Some(self.reject(errors::STREAM_STORE_FAILED.with_err(&e))),
            };
        }
        let mut hdr: &[u8] = accepted.header.as_deref().unwrap_or(hdr);
        // A counter stores the subject's new total instead of the (empty) payload, and
        // the totals seen from its sources in a header.
        let counter;
        let mut counter_value = None;
        let payload: &[u8] = match &accepted.incr {
            Some(incr) => {
                let last = store.load_last_msg(&msg.subject).ok();
                let applied = super::counter::Running::from_last(
                    last.as_ref().map(|m| (&m.hdr[..], &m.msg[..])),
                )
                .and_then(|mut running| {
                    let applied = running.apply(hdr, &msg.payload, &msg.subject, incr)?;
                    Ok((running.total, applied))
                });
                let Ok((total, applied)) = applied else {
                    return Some(self.reject(errors::MESSAGE_COUNTER_BROKEN.new()));
                };
                counter = applied;
                hdr = &counter.header;
                let counter_payload = &counter.payload;
                let max = usize::try_from(server.opts().max_payload).unwrap_or(0);
                if hdr.len() > max || counter_payload.len() > max - hdr.len() {
                    return Some(self.reject(errors::STREAM_MESSAGE_EXCEEDS_MAXIMUM.new()));
                }
                if super::counter::exceeds_max_msg_size(
                    hdr.len(),
                    counter_payload.len(),
                    i64::from(inner.config.max_msg_size),
                ) {
                    return Some(self.reject(errors::STREAM_MESSAGE_EXCEEDS_MAXIMUM.new()));
                }
                counter_value = Some(total.to_string());
                counter_payload
            }
            None => &msg.payload,
        };
        // The server's own budget first, then the account's (Go's order).
        if let Some(js) = server.jetstream() {
            if js.limits_exceeded(inner.config.storage) {
                js.resources_exceeded_error(server, inner.config.storage);
                return Some(self.reject(errors::INSUFFICIENT_RESOURCES.new()));
            }
        }
        if self.would_exceed_account_limits(inner.config.storage, &msg.subject, hdr, payload) {
            crate::warn!(
                server.logging,
                "JetStream {} resource limits exceeded for account: {:?}",
                match inner.config.storage {
                    StorageType::Memory => "memory",
                    StorageType::File => "file",
                },
                self.account.name
            );
            return Some(self.reject(errors::ACCOUNT_RESOURCES_EXCEEDED.new()));
        }
        // Republish: the last sequence on this subject before this message.
        let republish_to = republish_subject(inner.config.republish.as_ref(), &msg.subject);
        let last_on_subject = if republish_to.is_some() {
            store
                .load_last_msg(&msg.subject)
                .map(|m| m.seq)
                .unwrap_or(0)
        } else {
            0
        };
        let stored = match &self.store {
            StreamStore::File(fs) => fs
                .store_msg_pipelined(&msg.subject, hdr, payload, accepted.ttl)
                .map(|(seq, ts, p)| {
                    pending.push(p);
                    (seq, ts)
                }),
            StreamStore::Memory(m) => m.store_msg(&msg.subject, hdr, payload, accepted.ttl),
        };
        let (seq, ts) = match stored {
            Ok(v) => v,
            Err(
                e @ (StoreError::MaxMsgs
                | StoreError::MaxBytes
                | StoreError::MaxMsgsPerSubject
                | StoreError::MsgTooLarge
                | StoreError::Closed),
            ) => return Some(self.reject(errors::STREAM_STORE_FAILED.with_err(&e))),
            Err(e) => {
                crate::error!(
                    server.logging,
                    "JetStream failed to store a msg on stream '{} > {}': {e}",
                    self.account.name,
                    self.name
                );
                return None;
            }
        };
        inner.last_seq = seq;
        inner.last_msg_id = accepted.msg_id.clone();
        if !accepted.msg_id.is_empty() {
            inner.dedup.store(&accepted.msg_id, seq, ts);
        }
        if let Some(rollup) = accepted.rollup {
            let filter = match rollup {
                publish::Rollup::Subject => msg.subject.as_str(),
                publish::Rollup::All => "",
            };
            if let Err(e) = store.purge_ex(filter, 0, 1) {
                return Some(self.reject(errors::STREAM_ROLLUP_FAILED.with_err(&e)));
            }
        }
        // A one-off schedule that fired (or a client's purge) takes its schedule away.
        if let Some(scheduler) = &accepted.purge_schedule {
            if let Err(e) = store.purge_ex(scheduler, 0, 0) {
                return Some(self.reject(errors::STREAM_ROLLUP_FAILED.with_err(&e)));
            }
        }
        if let Some(to) = republish_to {
            let headers_only = inner
                .config
                .republish
                .as_ref()
                .is_some_and(|r| r.headers_only);
            republish.push(republished(
                &self.name,
                to,
                &msg.subject,
                hdr,
                &bytes::Bytes::copy_from_slice(payload),
                (seq, ts, last_on_subject),
                headers_only,
            ));
        }
        match counter_value {
            Some(v) => Some(self.ack_with_value(seq, &v)),
            None => Some(self.ack(seq, false)),
        }
    }
}

/// Atomic batch publish (`batch.rs` holds the logic).
impl Stream {
    /// How many atomic batches are open on this stream.
    pub fn open_batches(&self) -> usize {
        self.batches.lock().len()
    }

    /// Go's batch abandoned advisories on
    /// `$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.<stream>`, for the batches given up
    /// since the last call; only when someone listens.
    fn send_batch_advisories(&self, server: &ServerShared) {
        let abandoned = self.batches.lock().take_abandoned();
        if abandoned.is_empty() {
            return;
        }
        let subject = format!("$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.{}", self.name);
        if !self.account.sublist.has_interest(&subject) {
            return;
        }
        for (id, why) in abandoned {
            let mut advisory = serde_json::json!({
                "type": "io.nats.jetstream.advisory.v1.stream_batch_abandoned",
                "id": crate::events::messages::next_event_id(),
                "timestamp": GoTime::now(),
                "stream": self.name,
                "batch": id,
                "reason": why.reason(),
            });
            if !self.domain.is_empty() {
                advisory["domain"] = serde_json::json!(self.domain);
            }
            let body = crate::monitor::http::to_go_json_compact(&advisory);
            crate::events::internal::publish(
                server,
                &self.ingest,
                &self.account,
                &subject,
                None,
                None,
                &body,
            );
        }
    }

    /// Takes a message of atomic batch `id`: stages it, or on its commit checks the
    /// whole batch and stores all of it (the answer to the commit is the batch's ack).
    fn process_atomic(
        &self,
        inner: &mut StreamInner,
        server: &ServerShared,
        msg: &InMsg,
        id: &str,
        now: i64,
        (pending, republish): (&mut Vec<PendingDurable>, &mut Vec<Republished>),
    ) -> Option<PubAnswer> {
        use super::batch;
        let hdr: &[u8] = msg.header.as_deref().unwrap_or_default();
        if self.would_exceed_account_limits(inner.config.storage, &msg.subject, hdr, &msg.payload) {
            return Some(self.reject(errors::ACCOUNT_RESOURCES_EXCEEDED.new()));
        }
        let limits = batch::Limits::from_opts(&server.opts().jetstream_limits);
        let stage_at = match &self.store {
            StreamStore::File(fs) => self.dir.as_deref().map(|stream_dir| batch::StageAt {
                stream_dir,
                store: fs,
            }),
            StreamStore::Memory(_) => None,
        };
        let staged = batch::StagedMsg {
            subject: msg.subject.clone(),
            header: hdr.to_vec(),
            payload: msg.payload.to_vec(),
        };
        let step = self
            .batches
            .lock()
            .accept(&inner.config, &limits, id, staged, now, stage_at);
        let mut commit = match step {
            batch::Step::Staged => {
                return Some(PubAnswer {
                    body: Vec::new(),
                    stored: false,
                })
            }
            batch::Step::Rejected { error, .. } => return Some(self.reject(error)),
            batch::Step::Commit(c) => c,
        };
        // The whole batch is on disk before any of it goes into the stream.
        if let Some(disk) = &mut commit.disk {
            if disk.make_durable().is_err() {
                commit.finish();
                return Some(self.reject(errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH.new()));
            }
        }
        let store = self.store();
        let state = store.fast_state();
        let config = inner.config.clone();
        let transform = |s: &str| transform_subject(config.subject_transform.as_ref(), s);
        let last_of = |s: &str| store.load_last_msg(s);
        let subject_total = |s: &str| store.subjects_totals(s).get(s).copied().unwrap_or(0);
        let view = batch::StreamView {
            cfg: &config,
            last_seq: inner.last_seq,
            last_msg_id: &inner.last_msg_id,
            dedup: &inner.dedup,
            max_payload: server.opts().max_payload as i64,
            msgs: state.msgs,
            bytes: state.bytes,
            now,
            last_of: &last_of,
            subject_total: &subject_total,
            transform: &transform,
        };
        let checked = match batch::check_commit(&view, &commit.msgs) {
            Ok(c) => c,
            Err(e) => {
                commit.finish();
                return Some(self.reject(e));
            }
        };
        // The storage budgets are checked for the whole batch here: a limit hit half way
        // through storing it would leave half a batch (Go checks each message as it
        // stores it).
        let storage = config.storage;
        let size: u64 = checked
            .iter()
            .map(|m| batch::stored_size(storage, &m.subject, &m.header, &m.payload))
            .sum();
        if let Some(js) = server.jetstream() {
            if js.would_exceed_limits(storage, i64::try_from(size).unwrap_or(i64::MAX)) {
                js.resources_exceeded_error(server, storage);
                commit.finish();
                return Some(self.reject(errors::INSUFFICIENT_RESOURCES.new()));
            }
        }
        if self.batch_would_exceed_account_limits(storage, size) {
            commit.finish();
            return Some(self.reject(errors::ACCOUNT_RESOURCES_EXCEEDED.new()));
        }
        let (id, count) = (commit.id.clone(), commit.count);
        let answer = self.store_checked(inner, server, checked, now, (pending, republish));
        // The staging store goes once the stream's copy is durable; until then a
        // restart finishes the batch from it.
        if let StreamStore::File(fs) = &self.store {
            for p in pending.drain(..) {
                if let Err(e) = fs.wait_durable_for(p) {
                    crate::error!(
                        server.logging,
                        "JetStream failed to sync stream '{} > {}': {e}",
                        self.account.name,
                        self.name
                    );
                    return None;
                }
            }
        }
        commit.finish();
        match answer {
            Some(a) if a.stored => {
                let ack = self.ack(inner.last_seq, false);
                Some(PubAnswer {
                    body: batch::ack_with_batch(&ack.body, &id, count),
                    stored: true,
                })
            }
            other => other,
        }
    }

    /// Whether `size` more bytes of `storage` take the account past its limit.
    fn batch_would_exceed_account_limits(&self, storage: StorageType, size: u64) -> bool {
        let Some(jsa) = self.jsa.get().and_then(Weak::upgrade) else {
            return false;
        };
        let (limit, (mem, file)) = match storage {
            StorageType::Memory => (jsa.limits.max_memory, jsa.usage()),
            StorageType::File => (jsa.limits.max_store, jsa.usage()),
        };
        let in_use = if storage == StorageType::Memory {
            mem
        } else {
            file
        };
        limit >= 0 && in_use.saturating_add(size) > limit as u64
    }

    /// Stores messages that passed the batch checks, in order; the answer is the last
    /// one's.
    fn store_checked(
        &self,
        inner: &mut StreamInner,
        server: &ServerShared,
        msgs: Vec<super::batch::StagedMsg>,
        now: i64,
        (pending, republish): (&mut Vec<PendingDurable>, &mut Vec<Republished>),
    ) -> Option<PubAnswer> {
        let origin = publish::Origin {
            now,
            batched: true,
            ..Default::default()
        };
        let mut answer = None;
        for m in msgs {
            let in_msg = InMsg {
                subject: m.subject,
                reply: String::new(),
                header: Some(m.header.into()),
                payload: m.payload.into(),
                publisher: 0,
            };
            answer = self.process_one(inner, server, &in_msg, origin, pending, republish);
            if !answer.as_ref().is_some_and(|a| a.stored) {
                crate::error!(
                    server.logging,
                    "JetStream failed to store a batch message on stream '{} > {}'",
                    self.account.name,
                    self.name
                );
            }
        }
        answer
    }

    /// After a restart: finishes a batch whose commit was being stored when the server
    /// stopped (see `batch.rs`), then removes what staging left.
    pub fn recover_partial_batch(&self, server: &ServerShared) {
        let Some(dir) = self.dir.clone() else {
            return;
        };
        if !dir.join(super::batch::BATCHES_DIR).exists() {
            return;
        }
        let last = self.store().load_last_msg(">");
        if let Ok(last) = last {
            let keys = self.store.at_rest_keys();
            match super::batch::remainder_to_apply(&dir, &last, keys.as_ref()) {
                Ok(None) => {}
                Ok(Some((from, msgs))) => {
                    crate::notice!(
                        server.logging,
                        "  Restoring partial batch write for stream '{} > {}' (seq {} to {})",
                        self.account.name,
                        self.name,
                        from,
                        from + msgs.len() as u64 - 1
                    );
                    let (mut pending, mut republish) = (Vec::new(), Vec::new());
                    let mut inner = self.inner.lock();
                    let out = (&mut pending, &mut republish);
                    self.store_checked(&mut inner, server, msgs, now_nanos(), out);
                    drop(inner);
                    if let StreamStore::File(fs) = &self.store {
                        for p in pending {
                            if let Err(e) = fs.wait_durable_for(p) {
                                crate::error!(
                                    server.logging,
                                    "  Failed restoring partial batch write for stream '{} > {}': {e}",
                                    self.account.name,
                                    self.name
                                );
                                return;
                            }
                        }
                    }
                }
                Err(e) => crate::error!(
                    server.logging,
                    "  Failed restoring partial batch write for stream '{} > {}': {e}",
                    self.account.name,
                    self.name
                ),
            }
        }
        super::batch::remove_staging(&dir);
    }
}

/// What a publish is answered, and whether its message is in the stream (stored, or a
/// duplicate of one stored before).
#[derive(Debug)]
struct PubAnswer {
    body: Vec<u8>,
    stored: bool,
}

/// A stored message to publish again (`republish`), once the batch is durable.
#[derive(Debug)]
pub struct Republished {
    subject: String,
    header: Vec<u8>,
    payload: bytes::Bytes,
}

/// The subject the stream's input transform gives `subject`, if it applies.
fn transform_subject(t: Option<&types::SubjectTransformConfig>, subject: &str) -> Option<String> {
    let t = t?;
    let src = if t.source.is_empty() { ">" } else { &t.source };
    let tr = crate::subject_transform::SubjectTransform::new(src, &t.destination).ok()??;
    tr.match_subject(subject).ok()
}

/// Where `republish` sends a message on `subject`, if anywhere (a valid publish subject).
fn republish_subject(r: Option<&types::RePublish>, subject: &str) -> Option<String> {
    let r = r?;
    let src = if r.source.is_empty() { ">" } else { &r.source };
    let tr = crate::subject_transform::SubjectTransform::new(src, &r.destination).ok()??;
    let to = tr.match_subject(subject).ok()?;
    crate::subject::is_valid_publish_subject(&to).then_some(to)
}

/// Go's republished message: the stream, subject, sequence, time and last sequence on
/// the subject added to the headers (and the size instead of the payload when
/// `headers_only`).
fn republished(
    stream: &str,
    to: String,
    subject: &str,
    hdr: &[u8],
    payload: &bytes::Bytes,
    (seq, ts, last): (u64, i64, u64),
    headers_only: bool,
) -> Republished {
    let ts = types::store_time(ts).to_rfc3339();
    let mut lines = format!(
        "Nats-Stream: {stream}\r\nNats-Subject: {subject}\r\nNats-Sequence: {seq}\r\nNats-Time-Stamp: {ts}\r\nNats-Last-Sequence: {last}\r\n"
    );
    if headers_only {
        lines.push_str(&format!("Nats-Msg-Size: {}\r\n", payload.len()));
    }
    let mut header = if hdr.is_empty() {
        b"NATS/1.0\r\n".to_vec()
    } else {
        // Keep the published headers, without their closing blank line.
        hdr[..hdr.len().saturating_sub(2)].to_vec()
    };
    header.extend_from_slice(lines.as_bytes());
    header.extend_from_slice(b"\r\n");
    Republished {
        subject: to,
        header,
        payload: if headers_only {
            bytes::Bytes::new()
        } else {
            payload.clone()
        },
    }
}

/// The message ids a stream has stored within its duplicate window (`window` ns before
/// `now`), and the id of its last message (Go's `rebuildDedupe`): a reopened stream keeps
/// refusing duplicates and answers `Nats-Expected-Last-Msg-Id` as before.
fn rebuild_dedupe(store: &dyn Store, window: i64, now: i64) -> (DedupWindow, String) {
    let mut dedup = DedupWindow::new();
    let mut last_msg_id = String::new();
    if window <= 0 {
        return (dedup, last_msg_id);
    }
    let start = store.get_seq_from_time(now.saturating_sub(window));
    if start == 0 {
        return (dedup, last_msg_id);
    }
    let last = store.fast_state().last_seq;
    for seq in start..=last {
        let Ok(m) = store.load_msg(seq) else {
            continue;
        };
        let id = crate::client::header::slice_header(publish::MSG_ID, &m.hdr)
            .and_then(|v| std::str::from_utf8(v).ok())
            .unwrap_or_default();
        if !id.is_empty() {
            dedup.store(id, m.seq, m.ts);
        }
        if seq == last {
            last_msg_id = id.to_string();
        }
    }
    (dedup, last_msg_id)
}

/// A JSON string literal, escaped as Go escapes it.
fn json_string(s: &str) -> String {
    String::from_utf8(crate::monitor::http::to_go_json_compact(&s)).unwrap_or_default()
}

/// Takes what the stream's subscriptions queued, batch by batch, and stores it.
async fn ingest_loop(server: Weak<ServerShared>, stream: Weak<Stream>) {
    let Some(client) = stream.upgrade().map(|s| s.ingest.client.clone()) else {
        return;
    };
    loop {
        // Every delivery to the ingest client wakes it; a wake-up that came while the
        // last batch was stored is kept, so nothing queued is left waiting.
        client.queued().await;
        let (Some(shared), Some(s)) = (server.upgrade(), stream.upgrade()) else {
            return;
        };
        let batch = tokio::task::spawn_blocking(move || s.ingest_queued(&shared));
        if let Ok((true, 0)) = batch.await {
            return;
        }
    }
}

/// How often a file stream compacts and syncs its blocks (Go's `syncBlocks` period).
const SYNC_BLOCKS_EVERY: Duration = Duration::from_secs(2 * 60);
/// The longest a housekeeping pass waits, so new expiry times are seen in time.
const MAX_HOUSEKEEPING_WAIT: Duration = Duration::from_millis(250);
/// The shortest wait before looking at idle consumers again (ns).
const MIN_IDLE_CHECK_WAIT: i64 = 25_000_000;

/// How long housekeeping sleeps at `now` (ns): until the store's next expiry or the
/// duplicate window's, whichever comes first (Go expires both on timers), at most
/// [`MAX_HOUSEKEEPING_WAIT`].
fn housekeeping_wait(now: i64, store_next: Option<i64>, dedup_next: Option<i64>) -> Duration {
    match [store_next, dedup_next].into_iter().flatten().min() {
        Some(t) if t <= now => Duration::ZERO,
        Some(t) => Duration::from_nanos((t - now) as u64).min(MAX_HOUSEKEEPING_WAIT),
        None => MAX_HOUSEKEEPING_WAIT,
    }
}

/// Expires messages by age and TTL when due, forgets old message ids, and has a file
/// store compact its blocks now and then.
async fn housekeeping_loop(server: Weak<ServerShared>, stream: Weak<Stream>) {
    let mut last_sync = std::time::Instant::now();
    // The last pass left an expiry or schedule due that it could not apply (a marker or
    // scheduled message the stream refused): wait before trying again instead of spinning.
    let mut stalled = false;
    loop {
        let wait = {
            let Some(s) = stream.upgrade() else { return };
            if s.is_closed() {
                return;
            }
            let now = now_nanos();
            let dedup_next = {
                let inner = s.inner.lock();
                inner.dedup.next_expiry(inner.config.duplicates)
            };
            // An idle consumer is deleted when its inactive threshold has passed (not
            // later than Go's timer would); never sooner than a short pause, as one with
            // messages out waits for their ack wait as well.
            let idle_next = s
                .consumers
                .read()
                .values()
                .filter_map(|c| {
                    let cur = c.cursor.lock();
                    let threshold = cur.config.inactive_threshold;
                    (threshold > 0).then(|| cur.last_activity.saturating_add(threshold))
                })
                .min()
                .map(|t| t.max(now.saturating_add(MIN_IDLE_CHECK_WAIT)));
            let store_next = [
                s.store().next_expiration(),
                s.store().next_msg_schedule(),
                idle_next,
                s.batches.lock().next_deadline(),
                s.fast_batches.lock().next_deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
            let wait = housekeeping_wait(now, store_next, dedup_next);
            if stalled {
                wait.max(MAX_HOUSEKEEPING_WAIT)
            } else {
                wait
            }
        };
        if !wait.is_zero() {
            let Some(s) = stream.upgrade() else { return };
            let _ = tokio::time::timeout(wait, s.housekeeping.notified()).await;
        }
        let Some(s) = stream.upgrade() else { return };
        let do_sync = last_sync.elapsed() >= SYNC_BLOCKS_EVERY;
        if do_sync {
            last_sync = std::time::Instant::now();
        }
        let server = server.clone();
        let work = tokio::task::spawn_blocking(move || {
            if s.is_closed() {
                return false;
            }
            let now = now_nanos();
            let due = |s: &Stream| {
                [s.store().next_expiration(), s.store().next_msg_schedule()]
                    .into_iter()
                    .flatten()
                    .min()
                    .filter(|&t| t <= now)
            };
            let due_before = due(&s);
            if s.store().next_expiration().is_some_and(|t| t <= now) {
                s.store().expire_msgs();
            }
            if s.store().next_msg_schedule().is_some_and(|t| t <= now) {
                s.store().run_msg_scheduling();
            }
            if let Some(server) = server.upgrade() {
                s.apply_store_proposals(&server);
            }
            let stalled = due_before.is_some() && due(&s) == due_before;
            {
                let mut inner = s.inner.lock();
                let window = inner.config.duplicates;
                inner.dedup.expire(now, window);
            }
            // Atomic batches that saw no message for the batch timeout are given up.
            s.batches.lock().expire(now);
            s.fast_batches.lock().expire(now);
            if let Some(server) = server.upgrade() {
                s.send_batch_advisories(&server);
            }
            if do_sync {
                if let StreamStore::File(fs) = &s.store {
                    let _ = fs.sync_now();
                }
            }
            // Ephemeral consumers nobody used for their inactive threshold go.
            let idle: Vec<String> = s
                .consumers
                .read()
                .values()
                .filter(|c| c.inactive(now))
                .map(|c| c.name.clone())
                .collect();
            if let Some(server) = server.upgrade() {
                for name in idle {
                    let removed = s.consumers.write().remove(&name);
                    if let Some(c) = removed {
                        let floor = c.cursor.lock().ack_floor.1;
                        c.delete(&server);
                        s.consumer_deleted(floor);
                    }
                }
            }
            stalled
        });
        stalled = work.await.unwrap_or(false);
    }
}

impl Stream {
    /// Applies a checked configuration: the store's limits, the subjects listened on, and
    /// `meta.inf`.
    pub fn update(
        self: &Arc<Self>,
        server: &Arc<ServerShared>,
        cfg: StreamConfig,
    ) -> Result<(), ApiError> {
        let subjects_changed;
        let origins_changed;
        {
            let mut inner = self.inner.lock();
            let mut scfg = store_config(&cfg);
            self.store()
                .update_config(&mut scfg)
                .map_err(|e| errors::STREAM_UPDATE.with_err(&e))?;
            subjects_changed = inner.config.subjects != cfg.subjects;
            origins_changed =
                inner.config.mirror != cfg.mirror || inner.config.sources != cfg.sources;
            inner.config = cfg.clone();
        }
        if !cfg.allow_batch_publish {
            self.fast_batches.lock().clear();
        }
        // The store may have expired or scheduled something under the new limits.
        self.apply_store_proposals(server);
        self.wake_housekeeping();
        if let Some(dir) = &self.dir {
            let meta = super::meta::StreamMeta {
                created: self.created,
                config: cfg,
            };
            super::meta::write_stream_meta(dir, &meta, self.store.at_rest_keys().as_ref())
                .map_err(|e| errors::STREAM_UPDATE.with_err(&e))?;
        }
        if subjects_changed {
            self.subscribe_subjects(server)
                .map_err(|e| errors::STREAM_UPDATE.with_err(&e))?;
        }
        self.sync_direct_get(server)
            .map_err(|e| errors::STREAM_UPDATE.with_err(&e))?;
        if origins_changed {
            // Each origin resumes where the stream's messages say it got to.
            let mut tasks = self.copy_tasks.lock();
            for t in tasks.drain(..) {
                t.abort();
            }
            *tasks = super::sourcing::start(server, self);
        }
        Ok(())
    }

    /// Purges the stream, all of it or as `request` says; returns how many went.
    pub fn purge(&self, request: Option<&types::StreamPurgeRequest>) -> Result<u64, StoreError> {
        let mut inner = self.inner.lock();
        let purged = match request {
            Some(r) => self.store().purge_ex(&r.subject, r.sequence, r.keep)?,
            None => self.store().purge()?,
        };
        let state = self.store().fast_state();
        if state.last_seq > inner.last_seq {
            inner.last_seq = state.last_seq;
        }
        drop(inner);
        let first = if state.msgs > 0 {
            state.first_seq
        } else {
            state.last_seq + 1
        };
        let subject = request.map_or("", |r| r.subject.as_str());
        if subject.is_empty() {
            for c in self.consumers.read().values() {
                c.purged(first);
            }
            return Ok(purged);
        }
        // A purge of one subject (Go's purgeLocked): consumers whose filters lie within
        // it move past what is left of it; those whose filters are wider keep their place
        // from the stream's first message; the others are not concerned.
        let left = self
            .store()
            .filtered_state(state.first_seq, subject)
            .map(|ss| ss.first)
            .unwrap_or(0);
        let within_start = if left == 0 { state.last_seq + 1 } else { left };
        for c in self.consumers.read().values() {
            let cfg = c.config();
            let filters: Vec<&str> = std::iter::once(cfg.filter_subject.as_str())
                .filter(|f| !f.is_empty())
                .chain(cfg.filter_subjects.iter().map(String::as_str))
                .collect();
            let within = super::consumer_config::is_equal_or_subset_match(&filters, subject);
            let wider = filters.is_empty()
                || filters
                    .iter()
                    .any(|f| crate::subject::subject_is_subset_match(subject, f));
            if within {
                c.purged(within_start);
            } else if wider {
                c.purged(first);
                // What it has pending of the purged subject is gone too.
                let gone: Vec<u64> = {
                    let cur = c.cursor.lock();
                    cur.pending
                        .keys()
                        .copied()
                        .filter(|&seq| self.store().load_msg(seq).is_err())
                        .collect()
                };
                if !gone.is_empty() {
                    c.cursor.lock().drop_gone(&gone);
                }
            }
        }
        Ok(purged)
    }

    /// On an interest or work-queue stream, removes what the consumers' saved state
    /// says they acknowledged (below their ack floors, and between the floor and the
    /// last delivery what is not pending) and nobody else needs: acks that were not
    /// applied before a restart (Go's checkInterestState when the stream starts).
    pub fn check_interest_state(&self) {
        if self.inner.lock().config.retention == RetentionPolicy::Limits {
            return;
        }
        let state = self.store().fast_state();
        let consumers: Vec<_> = self.consumers.read().values().cloned().collect();
        for c in consumers {
            let (floor, delivered, pending, filters) = {
                let cur = c.cursor.lock();
                let floor = cur.ack_floor.1;
                let delivered = if !cur.pending.is_empty() && cur.delivered_sseq > floor {
                    cur.delivered_sseq
                } else {
                    floor
                };
                // Out of deliveries is kept too, until acked (Go's needAck looks at rdc).
                let pending: std::collections::BTreeSet<u64> = cur
                    .pending
                    .keys()
                    .chain(cur.max_delivered.keys())
                    .copied()
                    .collect();
                (floor, delivered, pending, cur.filters.clone())
            };
            if delivered == 0 || floor > state.last_seq {
                continue;
            }
            let acked = super::consumer::stored_between(
                self.store(),
                &filters,
                state.first_seq.max(1),
                delivered.min(state.last_seq),
            )
            .filter(|seq| !pending.contains(seq))
            .collect::<Vec<u64>>();
            self.acked_by_consumer(&c.name, &acked);
        }
    }

    /// A consumer whose acknowledged floor was `ack_floor` is gone: with interest
    /// retention, the messages above it that no remaining consumer needs go, and all of
    /// them when no consumer is left (Go's `cleanupNoInterestMessages` on a delete).
    pub fn consumer_deleted(&self, ack_floor: u64) {
        if self.inner.lock().config.retention != RetentionPolicy::Interest {
            return;
        }
        let consumers: Vec<_> = self.consumers.read().values().cloned().collect();
        if consumers.is_empty() {
            let mut inner = self.inner.lock();
            let _ = self.store().purge();
            let state = self.store().fast_state();
            if state.last_seq > inner.last_seq {
                inner.last_seq = state.last_seq;
            }
            return;
        }
        self.drop_unneeded_from(ack_floor, &consumers);
    }

    /// Removes the messages from `floor` on that none of `consumers` needs.
    fn drop_unneeded_from(&self, floor: u64, consumers: &[Arc<super::consumer::Consumer>]) {
        let state = self.store().fast_state();
        for seq in floor.max(state.first_seq)..=state.last_seq {
            let Ok(subject) = self.store().subject_for_seq(seq) else {
                continue;
            };
            if !consumers.iter().any(|c| c.needs(seq, &subject)) {
                let _guard = self.inner.lock();
                let _ = self.store().remove_msg(seq);
            }
        }
    }

    /// A consumer whose acknowledged floor is `ack_floor` changed its filters: with
    /// interest retention, the messages above it that no consumer needs any more go (Go's
    /// cleanupNoInterestMessages after a filter update).
    pub fn consumer_filters_changed(&self, ack_floor: u64) {
        if self.inner.lock().config.retention != RetentionPolicy::Interest {
            return;
        }
        let consumers: Vec<_> = self.consumers.read().values().cloned().collect();
        self.drop_unneeded_from(ack_floor, &consumers);
    }

    /// Consumer `name` acknowledged `seqs`: with interest or work-queue retention, a
    /// message no consumer needs any more goes.
    pub fn acked_by_consumer(&self, name: &str, seqs: &[u64]) {
        let retention = self.inner.lock().config.retention;
        if retention == RetentionPolicy::Limits {
            return;
        }
        let consumers: Vec<_> = self.consumers.read().values().cloned().collect();
        for &seq in seqs {
            let needed = retention == RetentionPolicy::Interest && {
                match self.store().subject_for_seq(seq) {
                    Ok(subject) => consumers
                        .iter()
                        .any(|c| c.name != name && c.needs(seq, &subject)),
                    Err(_) => continue,
                }
            };
            if !needed {
                let _guard = self.inner.lock();
                let _ = self.store().remove_msg(seq);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod rebuild_dedupe_tests {
    use super::*;

    fn msg_id(id: &str) -> Vec<u8> {
        format!("NATS/1.0\r\nNats-Msg-Id: {id}\r\n\r\n").into_bytes()
    }

    #[test]
    fn housekeeping_wakes_for_the_first_expiry_of_either_kind() {
        let ms = |n: u64| Duration::from_millis(n);
        assert_eq!(housekeeping_wait(0, None, None), MAX_HOUSEKEEPING_WAIT);
        assert_eq!(housekeeping_wait(0, Some(100_000_000), None), ms(100));
        assert_eq!(
            housekeeping_wait(0, Some(200_000_000), Some(50_000_000)),
            ms(50)
        );
        assert_eq!(
            housekeeping_wait(0, None, Some(10_000_000_000)),
            MAX_HOUSEKEEPING_WAIT
        );
        assert_eq!(housekeeping_wait(5, Some(9), Some(4)), Duration::ZERO);
    }

    #[test]
    fn ids_within_the_window_and_the_last_id_come_back() {
        let store = MemStore::new(natsd_store::StreamConfig {
            name: "S".into(),
            subjects: vec!["s".into()],
            storage: natsd_store::StorageType::Memory,
            ..Default::default()
        })
        .unwrap();
        store.store_msg("s", &msg_id("AAA"), b"", 0).unwrap();
        store.store_msg("s", b"", b"", 0).unwrap();
        store.store_msg("s", &msg_id("BBB"), b"", 0).unwrap();
        let now = now_nanos();
        let (dedup, last) = rebuild_dedupe(&store, 60_000_000_000, now);
        assert_eq!((dedup.check("AAA"), dedup.check("BBB")), (Some(1), Some(3)));
        assert_eq!(last, "BBB");
        // A message without an id last leaves no last id.
        store.store_msg("s", b"", b"", 0).unwrap();
        assert_eq!(rebuild_dedupe(&store, 60_000_000_000, now).1, "");
        // Nothing without a window, nothing from before it.
        assert!(rebuild_dedupe(&store, 0, now).0.is_empty());
        let later = now + 120_000_000_000;
        assert!(rebuild_dedupe(&store, 60_000_000_000, later).0.is_empty());
    }
}
