//! Atomic batch publish (ADR-50) on a standalone server: messages carrying
//! `Nats-Batch-Id` and `Nats-Batch-Sequence` are staged per batch until the message
//! with `Nats-Batch-Commit` arrives; then the whole batch passes the publish checks as
//! if its messages were stored one after the other, and is stored in one go, or nothing
//! of it is.
//!
//! Crash safety with a file store (Go's scheme, its on-disk layout too): every staged
//! message is also written to a staging file store in
//! `<stream dir>/batches/<hash of the batch id>/`, and that store is synced before the
//! first message of the batch reaches the stream. The stored messages keep their batch
//! headers and the last one carries `Nats-Batch-Commit: 1`. The stream's own file store
//! recovers a prefix of what was written (a torn record and everything after it is
//! dropped), so after a crash its last message is either outside the batch (nothing of
//! the batch is in the stream: the staging store is thrown away) or a batch message
//! without the commit header (a part is in: the rest is applied from the staging store,
//! [`remainder_to_apply`]). The staging store is removed only once the stream's copy of
//! the batch is durable.
//!
//! The state machine ([`Batches::accept`]) and the commit checks ([`check_commit`]) are
//! pure apart from the optional staging store; time comes in as an argument.

use super::api::errors::{self, ApiError};
use super::api::types::{DiscardPolicy, StorageType, StreamConfig};
use super::dedup::DedupWindow;
use super::publish::{self, Accepted, Check, Rollup};
use crate::client::header::{gen_header, remove_header_if_present, slice_header};
use crate::config::jetstream::JsLimitOpts;
use natsd_store::file::{FileStore, FileStoreConfig, PendingDurable, StoreKeys};
use natsd_store::{Store, StoreError, StoreMsg};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

pub const BATCH_ID: &str = publish::BATCH_ID;
pub const BATCH_SEQ: &str = "Nats-Batch-Sequence";
pub const BATCH_COMMIT: &str = "Nats-Batch-Commit";
pub const REQUIRED_API_LEVEL: &str = "Nats-Required-Api-Level";
/// Under a stream's directory: one staging store per open batch.
pub const BATCHES_DIR: &str = "batches";
/// `Nats-Batch-Commit` values: commit with this message, or with this message as an
/// "end of batch" marker that is not stored itself.
const COMMIT: &[u8] = b"1";
const COMMIT_EOB: &[u8] = b"eob";
const MAX_BATCH_ID_LEN: usize = 64;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_INFLIGHT_PER_STREAM: usize = 50;
pub const DEFAULT_MAX_INFLIGHT_TOTAL: i64 = 1000;
pub const DEFAULT_MAX_SIZE: u64 = 1000;

/// Batches open in this process, over all streams (Go keeps this count process-wide).
static INFLIGHT_TOTAL: AtomicI64 = AtomicI64::new(0);

/// The batch a message belongs to (`Nats-Batch-Id`, when not empty).
pub fn batch_id(hdr: &[u8]) -> Option<&str> {
    slice_header(BATCH_ID, hdr)
        .and_then(|v| std::str::from_utf8(v).ok())
        .filter(|v| !v.is_empty())
}

/// `Nats-Batch-Sequence`: digits only, within u64.
pub fn batch_sequence(hdr: &[u8]) -> Option<u64> {
    let v = slice_header(BATCH_SEQ, hdr)?;
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// The server's batch limits (`jetstream { limits { batch { ... } } }`), defaults for
/// those not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_inflight_per_stream: usize,
    pub max_inflight_total: i64,
    pub max_size: u64,
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflight_per_stream: DEFAULT_MAX_INFLIGHT_PER_STREAM,
            max_inflight_total: DEFAULT_MAX_INFLIGHT_TOTAL,
            max_size: DEFAULT_MAX_SIZE,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl Limits {
    pub fn from_opts(o: &JsLimitOpts) -> Limits {
        let d = Limits::default();
        Limits {
            max_inflight_per_stream: usize::try_from(o.max_batch_inflight_per_stream)
                .ok()
                .filter(|v| *v > 0)
                .unwrap_or(d.max_inflight_per_stream),
            max_inflight_total: Some(o.max_batch_inflight_total)
                .filter(|v| *v > 0)
                .unwrap_or(d.max_inflight_total),
            max_size: u64::try_from(o.max_batch_size)
                .ok()
                .filter(|v| *v > 0)
                .unwrap_or(d.max_size),
            timeout: Some(o.max_batch_timeout)
                .filter(|v| !v.is_zero())
                .unwrap_or(d.timeout),
        }
    }
}

/// A message of a batch, as published (or, after [`check_commit`], as it is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedMsg {
    pub subject: String,
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
}

/// One place in a process-wide count of open batches (atomic and fast batches are
/// counted apart), given back when dropped.
#[derive(Debug)]
pub(crate) struct InflightSlot(&'static AtomicI64);

impl InflightSlot {
    /// A place in `count`, unless it already holds `max_total`.
    pub(crate) fn take(count: &'static AtomicI64, max_total: i64) -> Option<InflightSlot> {
        if count.fetch_add(1, Ordering::AcqRel) + 1 > max_total {
            count.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(InflightSlot(count))
    }
}

impl Drop for InflightSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The staging file store of one batch of a file stream.
pub struct DiskStage {
    store: FileStore,
    dir: PathBuf,
    last: Option<PendingDurable>,
}

impl std::fmt::Debug for DiskStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskStage")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The staging directory of batch `id` of the stream in `stream_dir`.
pub fn stage_dir(stream_dir: &Path, id: &str) -> PathBuf {
    stream_dir.join(BATCHES_DIR).join(crate::events::hash8(id))
}

/// Where a file stream stages its batches: beside its store, sealed with its keys.
#[derive(Clone, Copy)]
pub struct StageAt<'a> {
    pub stream_dir: &'a Path,
    pub store: &'a FileStore,
}

/// Opens a staging store; with the stream's `keys` its messages are sealed at rest like
/// the stream's own.
fn open_stage(dir: &Path, keys: Option<&StoreKeys>) -> Result<FileStore, StoreError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "batch".to_string());
    let cfg = natsd_store::StreamConfig {
        name,
        storage: natsd_store::StorageType::File,
        ..Default::default()
    };
    let mut fcfg = FileStoreConfig::new(dir);
    if let Some(keys) = keys {
        fcfg.set_keys(keys);
    }
    FileStore::open(fcfg, cfg, natsd_store::system_clock())
}

impl DiskStage {
    /// A new, empty staging store (what an earlier batch with the same id left is
    /// removed first).
    pub fn create(at: StageAt<'_>, id: &str) -> Result<DiskStage, StoreError> {
        let dir = stage_dir(at.stream_dir, id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        Ok(DiskStage {
            store: open_stage(&dir, at.store.at_rest_keys().as_ref())?,
            dir,
            last: None,
        })
    }

    /// Writes a message (synced at [`DiskStage::make_durable`]); its staging sequence
    /// is its batch sequence.
    pub fn stage(&mut self, m: &StagedMsg, batch_seq: u64) -> Result<(), StoreError> {
        let (seq, _, pending) = self
            .store
            .store_msg_pipelined(&m.subject, &m.header, &m.payload, 0)?;
        if seq != batch_seq {
            return Err(StoreError::Other(format!(
                "staged batch message {seq} for batch sequence {batch_seq}"
            )));
        }
        self.last = Some(pending);
        Ok(())
    }

    /// Returns once every staged message is on stable storage.
    pub fn make_durable(&mut self) -> Result<(), StoreError> {
        match self.last.take() {
            Some(p) => self.store.wait_durable_for(p),
            None => Ok(()),
        }
    }

    /// Closes the staging store and keeps it on disk.
    pub fn close(self) {
        let _ = self.store.stop();
    }

    /// Closes and removes the staging store.
    pub fn remove(self) {
        let _ = self.store.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Closes a staging store but keeps it on disk (the server stops: a batch whose commit
/// was being applied is finished from it on the next start).
impl Drop for OpenBatch {
    fn drop(&mut self) {
        if let Some(d) = &self.disk {
            let _ = d.store.stop();
        }
    }
}

#[derive(Debug)]
struct OpenBatch {
    /// The highest batch sequence received.
    last_seq: u64,
    /// When the batch is abandoned unless another message comes (ns since the epoch).
    deadline: i64,
    msgs: Vec<StagedMsg>,
    disk: Option<DiskStage>,
    slot: Option<InflightSlot>,
}

/// A batch ready to be checked and stored.
#[derive(Debug)]
pub struct Commit {
    pub id: String,
    /// The messages to store, the end-of-batch marker left out.
    pub msgs: Vec<StagedMsg>,
    /// The batch sequence of the last message stored (the ack's `count`).
    pub count: u64,
    /// The staging store, to make durable before storing and remove after.
    pub disk: Option<DiskStage>,
    /// Counts as open until stored.
    _slot: Option<InflightSlot>,
}

impl Commit {
    /// The batch is stored and durable (or refused): its staging store goes.
    pub fn finish(mut self) {
        if let Some(d) = self.disk.take() {
            d.remove();
        }
    }
}

/// Why a batch was given up (the abandoned advisory's reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandoned {
    Timeout,
    Large,
    Incomplete,
    Unsupported,
}

/// What to do with a batch message.
#[derive(Debug)]
pub enum Step {
    /// Staged: answered with an empty message.
    Staged,
    Rejected {
        error: ApiError,
        /// The open batch this ended, if one did.
        abandoned: Option<Abandoned>,
    },
    Commit(Commit),
}

fn rejected(error: ApiError) -> Step {
    Step::Rejected {
        error,
        abandoned: None,
    }
}

impl Abandoned {
    /// Go's `BatchAbandonReason` text.
    pub fn reason(self) -> &'static str {
        match self {
            Abandoned::Timeout => "timeout",
            Abandoned::Large => "large",
            Abandoned::Incomplete => "incomplete",
            Abandoned::Unsupported => "unsupported",
        }
    }
}

fn abandoned(error: ApiError, why: Abandoned) -> Step {
    Step::Rejected {
        error,
        abandoned: Some(why),
    }
}

/// The open batches of one stream.
#[derive(Debug, Default)]
pub struct Batches {
    open: HashMap<String, OpenBatch>,
    /// Batches given up since the last [`Batches::take_abandoned`], for advisories.
    abandoned: Vec<(String, Abandoned)>,
}

impl Batches {
    /// How many batches are open.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Drops every open batch (the stream stops or is deleted).
    pub fn clear(&mut self) {
        self.open.clear();
    }

    /// Gives up the batches that saw no message before their deadline; returns their ids.
    pub fn expire(&mut self, now: i64) -> Vec<String> {
        let gone: Vec<String> = self
            .open
            .iter()
            .filter(|(_, b)| b.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            if let Some(b) = self.open.remove(id) {
                discard(b);
            }
            self.abandoned.push((id.clone(), Abandoned::Timeout));
        }
        gone
    }

    /// The batches given up since the last call (each once), with why.
    pub fn take_abandoned(&mut self) -> Vec<(String, Abandoned)> {
        std::mem::take(&mut self.abandoned)
    }

    /// Ends batch `id` for `why`, which its advisory tells.
    fn abandon(&mut self, id: &str, error: ApiError, why: Abandoned) -> Step {
        self.end(id);
        self.abandoned.push((id.to_string(), why));
        abandoned(error, why)
    }

    /// The earliest deadline of an open batch.
    pub fn next_deadline(&self) -> Option<i64> {
        self.open.values().map(|b| b.deadline).min()
    }

    fn end(&mut self, id: &str) {
        if let Some(b) = self.open.remove(id) {
            discard(b);
        }
    }

    /// Takes one message of batch `id` (Go's checks, in its order). `stage_at` is where a
    /// file stream stages its batches; `None` keeps them in memory only.
    pub fn accept(
        &mut self,
        cfg: &StreamConfig,
        limits: &Limits,
        id: &str,
        mut msg: StagedMsg,
        now: i64,
        stage_at: Option<StageAt<'_>>,
    ) -> Step {
        self.expire(now);
        if cfg.sealed {
            return rejected(errors::STREAM_SEALED.new());
        }
        let max = i64::from(cfg.max_msg_size);
        let (hlen, mlen) = (msg.header.len() as i64, msg.payload.len() as i64);
        if max >= 0 && (hlen > max || mlen > max - hlen) {
            return rejected(errors::STREAM_MESSAGE_EXCEEDS_MAXIMUM.new());
        }
        if !cfg.allow_atomic_publish {
            return rejected(errors::ATOMIC_PUBLISH_DISABLED.new());
        }
        if id.len() > MAX_BATCH_ID_LEN {
            return rejected(errors::ATOMIC_PUBLISH_INVALID_BATCH_ID.new());
        }
        let Some(batch_seq) = batch_sequence(&msg.header) else {
            return rejected(errors::ATOMIC_PUBLISH_MISSING_SEQ.new());
        };
        let commit_value = slice_header(BATCH_COMMIT, &msg.header).map(<[u8]>::to_vec);
        let eob = commit_value.as_deref() == Some(COMMIT_EOB);
        // The end-of-batch marker does not count toward the size.
        let size = if eob { batch_seq - 1 } else { batch_seq };
        if !self.open.contains_key(id) {
            if batch_seq != 1 {
                if size > limits.max_size {
                    return rejected(too_large(limits));
                }
                return rejected(errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH.new());
            }
            if self.open.len() + 1 > limits.max_inflight_per_stream {
                return rejected(errors::ATOMIC_PUBLISH_TOO_MANY_INFLIGHT.new());
            }
            let Some(slot) = InflightSlot::take(&INFLIGHT_TOTAL, limits.max_inflight_total) else {
                return rejected(errors::ATOMIC_PUBLISH_TOO_MANY_INFLIGHT.new());
            };
            let disk = match stage_at.map(|at| DiskStage::create(at, id)).transpose() {
                Ok(d) => d,
                Err(_) => return rejected(errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH.new()),
            };
            self.open.insert(
                id.to_string(),
                OpenBatch {
                    last_seq: 0,
                    deadline: now,
                    msgs: Vec::new(),
                    disk,
                    slot: Some(slot),
                },
            );
        }
        if let Some(c) = &commit_value {
            if c != COMMIT && c != COMMIT_EOB {
                self.end(id);
                return rejected(errors::ATOMIC_PUBLISH_INVALID_BATCH_COMMIT.new());
            }
        }
        // The required API level may refuse the batch; the header is never stored.
        if let Some(level) = slice_header(REQUIRED_API_LEVEL, &msg.header) {
            let level = std::str::from_utf8(level).ok();
            if super::stream_config::error_on_required_api_level(level) {
                return self.abandon(id, errors::REQUIRED_API_LEVEL.new(), Abandoned::Unsupported);
            }
            msg.header = remove_header_if_present(msg.header, REQUIRED_API_LEVEL);
        }
        let Some(batch) = self.open.get_mut(id) else {
            return rejected(errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH.new());
        };
        batch.last_seq += 1;
        batch.deadline = now.saturating_add(limits.timeout.as_nanos() as i64);
        if batch.last_seq != batch_seq || (batch_seq == 1 && eob) {
            return self.abandon(
                id,
                errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH.new(),
                Abandoned::Incomplete,
            );
        }
        if size > limits.max_size {
            return self.abandon(id, too_large(limits), Abandoned::Large);
        }
        // A file stream stages every message on disk, the commit too, so that the whole
        // batch is there before any of it is stored.
        if let Some(disk) = &mut batch.disk {
            if disk.stage(&msg, batch_seq).is_err() {
                return self.abandon(
                    id,
                    errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH.new(),
                    Abandoned::Incomplete,
                );
            }
        }
        if commit_value.is_none() {
            batch.msgs.push(msg);
            return Step::Staged;
        }
        let Some(mut batch) = self.open.remove(id) else {
            return rejected(errors::ATOMIC_PUBLISH_INCOMPLETE_BATCH.new());
        };
        let mut msgs = std::mem::take(&mut batch.msgs);
        let count = if eob {
            // The marker is not stored; the last message gets the plain commit header.
            if let Some(last) = msgs.last_mut() {
                last.header = gen_header(&last.header, BATCH_COMMIT, "1");
            }
            batch_seq - 1
        } else {
            msgs.push(msg);
            batch_seq
        };
        Step::Commit(Commit {
            id: id.to_string(),
            msgs,
            count,
            disk: batch.disk.take(),
            _slot: batch.slot.take(),
        })
    }
}

fn too_large(limits: &Limits) -> ApiError {
    errors::ATOMIC_PUBLISH_TOO_LARGE_BATCH.with(&[("{size}", &limits.max_size)])
}

/// Ends a batch that will not be committed: its staging store goes too.
fn discard(mut b: OpenBatch) {
    if let Some(d) = b.disk.take() {
        d.remove();
    }
}

/// The bytes a message takes in a store of `storage` (what the stream's state counts).
pub fn stored_size(storage: StorageType, subject: &str, hdr: &[u8], payload: &[u8]) -> u64 {
    match storage {
        StorageType::File => {
            natsd_store::file::record::record_len(subject.len(), hdr.len(), payload.len()) as u64
        }
        StorageType::Memory => natsd_store::mem::mem_store_msg_size(subject, hdr, payload),
    }
}

/// What the commit checks read of the stream.
pub struct StreamView<'a> {
    pub cfg: &'a StreamConfig,
    pub last_seq: u64,
    pub last_msg_id: &'a str,
    pub dedup: &'a DedupWindow,
    pub max_payload: i64,
    /// Messages and bytes stored now.
    pub msgs: u64,
    pub bytes: u64,
    pub now: i64,
    /// The last message stored on a subject.
    pub last_of: &'a dyn Fn(&str) -> Result<StoreMsg, StoreError>,
    /// The number of messages stored on a subject.
    pub subject_total: &'a dyn Fn(&str) -> u64,
    /// The stream's input subject transform.
    pub transform: &'a dyn Fn(&str) -> Option<String>,
}

/// Checks a batch as if its messages were stored one after the other (Go's
/// `checkMsgHeadersPreClusteredProposal` over the batch): each message passes the
/// stream's publish checks, and within the batch a message id may not repeat, an
/// expected last sequence only goes on the first message, a subject already written
/// may not carry an expected-last-subject-sequence or a subject rollup, a stream rollup
/// only goes first, counters add up, and discard-new limits count the whole batch.
/// Returns the messages as they are to be stored (counter totals, rewritten headers).
pub fn check_commit(
    view: &StreamView<'_>,
    batch: &[StagedMsg],
) -> Result<Vec<StagedMsg>, ApiError> {
    let cfg = view.cfg;
    let mut msg_ids: HashSet<String> = HashSet::new();
    let mut inflight: HashMap<String, u64> = HashMap::new();
    let mut counters: HashMap<String, super::counter::Running> = HashMap::new();
    let (mut msgs, mut bytes) = (view.msgs, view.bytes);
    let mut out = Vec::with_capacity(batch.len());
    for (i, m) in batch.iter().enumerate() {
        let subject = (view.transform)(&m.subject).unwrap_or_else(|| m.subject.clone());
        let hdr = &m.header;
        let header_str = |k: &str| {
            slice_header(k, hdr)
                .and_then(|v| std::str::from_utf8(v).ok())
                .filter(|v| !v.is_empty())
        };
        if header_str(publish::EXPECTED_LAST_MSG_ID).is_some() {
            return Err(errors::ATOMIC_PUBLISH_UNSUPPORTED_HEADER_BATCH
                .with(&[("{header}", &publish::EXPECTED_LAST_MSG_ID)]));
        }
        if let Some(id) = header_str(publish::MSG_ID) {
            if msg_ids.contains(id) {
                return Err(errors::ATOMIC_PUBLISH_CONTAINS_DUPLICATE_MESSAGE.new());
            }
        }
        let expects_subject_seq = header_str(publish::EXPECTED_LAST_SUBJECT_SEQ)
            .is_some_and(|v| v.parse::<u64>().is_ok());
        if expects_subject_seq {
            let on = header_str(publish::EXPECTED_LAST_SUBJECT_SEQ_SUBJECT).unwrap_or(&subject);
            if inflight.contains_key(on) {
                return Err(errors::STREAM_WRONG_LAST_SEQUENCE_CONSTANT.new());
            }
        }
        // Earlier messages of the batch count as stored for the last sequence.
        let last_seq = view.last_seq + i as u64;
        let check = publish::check(
            cfg,
            last_seq,
            view.last_msg_id,
            view.dedup,
            &subject,
            hdr,
            &m.payload,
            view.max_payload,
            publish::Origin {
                now: view.now,
                ..Default::default()
            },
            |s| (view.last_of)(s),
        );
        let accepted: Accepted = match check {
            Check::Accept(a) => a,
            Check::Duplicate(_) => {
                return Err(errors::ATOMIC_PUBLISH_CONTAINS_DUPLICATE_MESSAGE.new())
            }
            Check::Reject(e) => return Err(e),
        };
        let expects_last_seq =
            header_str(publish::EXPECTED_LAST_SEQ).is_some_and(|v| v.parse::<u64>().is_ok());
        if expects_last_seq && i > 0 {
            return Err(errors::STREAM_WRONG_LAST_SEQUENCE_CONSTANT.new());
        }
        match accepted.rollup {
            Some(Rollup::Subject) if inflight.contains_key(&subject) => {
                return Err(errors::STREAM_ROLLUP_FAILED.with_err(&"batch rollup sub invalid"))
            }
            Some(Rollup::All) if i > 0 => {
                return Err(errors::STREAM_ROLLUP_FAILED.with_err(&"batch rollup all invalid"))
            }
            _ => {}
        }
        let mut header = accepted.header.clone().unwrap_or_else(|| hdr.clone());
        let mut payload = m.payload.clone();
        if let Some(incr) = &accepted.incr {
            let broken = |_| errors::MESSAGE_COUNTER_BROKEN.new();
            // The batch's own running total when it wrote the subject before (a copy:
            // a refused batch leaves nothing behind).
            let mut running = match counters.get(&subject) {
                Some(r) => r.clone(),
                None => {
                    let last = (view.last_of)(&subject).ok();
                    super::counter::Running::from_last(
                        last.as_ref().map(|l| (&l.hdr[..], &l.msg[..])),
                    )
                    .map_err(broken)?
                }
            };
            let applied = running
                .apply(&header, &m.payload, &subject, incr)
                .map_err(broken)?;
            header = applied.header;
            payload = applied.payload;
            // The new total must fit the server's max payload and the stream's
            // max_msg_size, whichever is smaller.
            let mut max = view.max_payload;
            if cfg.max_msg_size >= 0 {
                max = max.min(i64::from(cfg.max_msg_size));
            }
            let max = usize::try_from(max).unwrap_or(0);
            if header.len() > max || payload.len() > max - header.len() {
                return Err(errors::STREAM_MESSAGE_EXCEEDS_MAXIMUM.new());
            }
            counters.insert(subject.clone(), running);
        }
        let ops = inflight.entry(subject.clone()).or_insert(0);
        *ops += 1;
        let ops = *ops;
        msgs += 1;
        bytes += stored_size(cfg.storage, &subject, &header, &payload);
        // Refused now: a limit hit half way through would store half the batch.
        if cfg.discard == DiscardPolicy::New {
            let over = if cfg.max_msgs > 0 && msgs > cfg.max_msgs as u64 {
                Some(StoreError::MaxMsgs)
            } else if cfg.max_bytes > 0 && bytes > cfg.max_bytes as u64 {
                Some(StoreError::MaxBytes)
            } else {
                None
            };
            if let Some(e) = over {
                return Err(errors::STREAM_STORE_FAILED.with_err(&e));
            }
            if cfg.discard_new_per
                && cfg.max_msgs_per > 0
                && slice_header(publish::ROLLUP, &header).is_none()
                && (view.subject_total)(&subject) + ops > cfg.max_msgs_per as u64
            {
                return Err(errors::STREAM_STORE_FAILED.with_err(&StoreError::MaxMsgsPerSubject));
            }
        }
        if !accepted.msg_id.is_empty() {
            msg_ids.insert(accepted.msg_id.clone());
        }
        out.push(StagedMsg {
            subject: m.subject.clone(),
            header,
            payload,
        });
    }
    Ok(out)
}

/// What the stream's publish checks give a message [`check_commit`] passed already: it
/// is stored as it is, and only what storing it does (dedup entry, TTL, rollup, a
/// schedule purge) is read from its header.
pub fn accepted_as_checked(cfg: &StreamConfig, hdr: &[u8]) -> Accepted {
    let allow_rollup_purge = cfg.allow_rollup && !cfg.deny_purge;
    let header_str = |k: &str| {
        slice_header(k, hdr)
            .and_then(|v| std::str::from_utf8(v).ok())
            .filter(|v| !v.is_empty())
    };
    Accepted {
        msg_id: header_str(publish::MSG_ID).unwrap_or_default().to_string(),
        ttl: natsd_store::message_ttl(hdr).unwrap_or(0),
        rollup: match header_str(publish::ROLLUP) {
            Some("sub") if allow_rollup_purge => Some(Rollup::Subject),
            Some("all") if allow_rollup_purge => Some(Rollup::All),
            _ => None,
        },
        header: None,
        incr: None,
        purge_schedule: if allow_rollup_purge {
            super::schedule::schedule_to_purge(hdr)
        } else {
            None
        },
    }
}

/// The publish ack of a committed batch: the stream's ack with the batch id and count.
pub fn ack_with_batch(ack: &[u8], id: &str, count: u64) -> Vec<u8> {
    let mut out = ack.to_vec();
    if out.last() == Some(&b'}') {
        out.pop();
    }
    let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".to_string());
    out.extend_from_slice(format!(",\"batch\":{id},\"count\":{count}}}").as_bytes());
    out
}

/// After a restart: the part of a batch still to store, when the stream's last message
/// (`last`) belongs to a batch that was being stored (no commit header) and its staging
/// store is there. Returns the messages after `last` up to the commit, the last with
/// the plain commit header. The caller removes the `batches` directory afterwards.
pub fn remainder_to_apply(
    stream_dir: &Path,
    last: &StoreMsg,
    keys: Option<&StoreKeys>,
) -> Result<Option<(u64, Vec<StagedMsg>)>, String> {
    let Some(id) = batch_id(&last.hdr) else {
        return Ok(None);
    };
    let Some(stored_seq) = batch_sequence(&last.hdr) else {
        return Ok(None);
    };
    if slice_header(BATCH_COMMIT, &last.hdr).is_some() {
        return Ok(None);
    }
    let dir = stage_dir(stream_dir, id);
    if !dir.is_dir() {
        return Err(format!("{}: no staged batch", dir.display()));
    }
    let store = open_stage(&dir, keys).map_err(|e| e.to_string())?;
    let result = (|| {
        let mut last_seq = store.fast_state().last_seq;
        let last_staged = store.load_msg(last_seq).map_err(|e| e.to_string())?;
        let eob = slice_header(BATCH_COMMIT, &last_staged.hdr) == Some(COMMIT_EOB);
        if eob {
            last_seq -= 1;
        }
        let mut out = Vec::new();
        for seq in stored_seq + 1..=last_seq {
            let m = store
                .load_msg(seq)
                .map_err(|e| format!("sequence {seq}: {e}"))?;
            let mut header = m.hdr.to_vec();
            if eob && seq == last_seq {
                header = gen_header(&header, BATCH_COMMIT, "1");
            }
            out.push(StagedMsg {
                subject: m.subject.to_string(),
                header,
                payload: m.msg.to_vec(),
            });
        }
        Ok(Some((stored_seq + 1, out)))
    })();
    let _ = store.stop();
    result
}

/// Removes what staging left in a stream's directory.
pub fn remove_staging(stream_dir: &Path) {
    let _ = std::fs::remove_dir_all(stream_dir.join(BATCHES_DIR));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
