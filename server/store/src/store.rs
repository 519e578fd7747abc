//! The stream store contract shared by the memory and file stores: types, errors, the
//! [`Store`] and [`ConsumerStore`] traits, the binary consumer-state encoding (Go's
//! persisted layout) and the stream-state encoding used for replication snapshots.
//!
//! Design choices:
//! - **Interior locking.** Every trait method takes `&self`; a store is `Send + Sync` and is
//!   shared as `Arc<dyn Store>` between the stream, its consumers and whoever drives its
//!   timers. Each store guards its own state (one lock per store, like Go), and calls the
//!   registered callbacks only after releasing it, so a callback may call back into the
//!   store.
//! - **Injected time.** Stores read "now" from a [`Clock`] given at construction
//!   ([`SystemClock`] in production, [`ManualClock`] in tests). Times are nanoseconds since
//!   the Unix epoch as `i64`; `0` means "no time" (Go's zero `time.Time`).
//! - **No hidden timers.** Age and TTL expiry do not run on a thread of the store: the owner
//!   asks [`Store::next_expiration`] when something is due and then calls
//!   [`Store::expire_msgs`]; likewise [`Store::next_msg_schedule`] and
//!   [`Store::run_msg_scheduling`] for message schedules. Go never fires these more often than
//!   every 250 ms; owners should not either. Tests drive the same calls with a manual clock.
//! - **Consumers.** [`Store::consumer_store`] counts the consumer in the stream's state and
//!   the consumer store's `stop` uncounts it (Go's `AddConsumer`/`RemoveConsumer` are not
//!   separate calls).
//! - **Loads return owned messages.** [`StoreMsg`] holds `Bytes`, so a memory store hands out
//!   reference-counted views without copying payloads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// Nanoseconds in a second, for converting TTLs (seconds) to timestamps (nanoseconds).
pub const NANOS_PER_SEC: i64 = 1_000_000_000;

// ---------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------

/// A source of the current time in nanoseconds since the Unix epoch.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now_ns(&self) -> i64;
}

/// A shared clock handle as stores keep it.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to; for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    pub fn new(now_ns: i64) -> Arc<Self> {
        Arc::new(Self {
            now: AtomicI64::new(now_ns),
        })
    }

    /// A manual clock starting at the current wall-clock time.
    pub fn starting_now() -> Arc<Self> {
        Self::new(SystemClock.now_ns())
    }

    pub fn set(&self, now_ns: i64) {
        self.now.store(now_ns, Ordering::SeqCst);
    }

    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        self.now.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// The system clock as a shared handle.
pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Store errors. The `Display` texts are Go's, since they reach clients in API errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The store has been stopped.
    Closed,
    /// The message was expected but is not there (deleted or never stored).
    MsgNotFound,
    /// The sequence is past the last one in the store.
    Eof,
    /// Discard-new and the message limit is reached.
    MaxMsgs,
    /// Discard-new and the byte limit is reached.
    MaxBytes,
    /// Discard-new-per-subject and the per-subject limit is reached.
    MaxMsgsPerSubject,
    /// A remove or erase arrived while a snapshot is in progress.
    SnapshotInProgress,
    /// The message is larger than allowed.
    MsgTooLarge,
    /// The wrong store type for the operation.
    WrongType,
    /// A consumer ack update while the ack policy is none.
    NoAckPolicy,
    /// A raw store with an expected sequence that does not follow the last one.
    SequenceMismatch,
    /// The stream state snapshot does not decode.
    CorruptStreamState,
    /// More results than the caller allowed.
    TooManyResults,
    /// A consumer state update older than the one held.
    OldUpdate,
    /// The buffer is not an encoded stream state.
    BadStreamStateEncoding,
    /// A persisted state (consumer or index) does not decode.
    CorruptState,
    /// An I/O failure in a file store.
    Io(std::io::ErrorKind, String),
    /// Any other failure, with Go's text.
    Other(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            StoreError::Closed => "store is closed",
            StoreError::MsgNotFound => "no message found",
            StoreError::Eof => "stream store EOF",
            StoreError::MaxMsgs => "maximum messages exceeded",
            StoreError::MaxBytes => "maximum bytes exceeded",
            StoreError::MaxMsgsPerSubject => "maximum messages per subject exceeded",
            StoreError::SnapshotInProgress => "snapshot in progress",
            StoreError::MsgTooLarge => "message too large",
            StoreError::WrongType => "wrong storage type",
            StoreError::NoAckPolicy => "ack policy is none",
            StoreError::SequenceMismatch => "expected sequence does not match store",
            StoreError::CorruptStreamState => "stream state snapshot is corrupt",
            StoreError::TooManyResults => "too many matching results for request",
            StoreError::OldUpdate => "old update ignored",
            StoreError::BadStreamStateEncoding => "bad stream state encoding",
            StoreError::CorruptState => "corrupt state file",
            StoreError::Io(_, msg) | StoreError::Other(msg) => msg,
        };
        f.write_str(text)
    }
}

impl std::error::Error for StoreError {}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.kind(), e.to_string())
    }
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// Where a stream keeps its messages. Values are Go's (they appear in persisted metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageType {
    #[default]
    File = 22,
    Memory = 33,
}

impl fmt::Display for StorageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StorageType::File => "File",
            StorageType::Memory => "Memory",
        })
    }
}

/// What happens when a limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscardPolicy {
    /// Remove the oldest messages to make room.
    #[default]
    Old,
    /// Refuse the new message.
    New,
}

/// Compression of stored message blocks (file store only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreCompression {
    #[default]
    None,
    S2,
}

/// The part of a stream's configuration a store needs. Limits use Go's conventions:
/// `0` or negative means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamConfig {
    pub name: String,
    pub subjects: Vec<String>,
    pub storage: StorageType,
    pub max_msgs: i64,
    pub max_bytes: i64,
    /// Zero means no age limit.
    pub max_age: Duration,
    /// Go's `MaxMsgsPer`.
    pub max_msgs_per_subject: i64,
    pub max_msg_size: i32,
    pub discard: DiscardPolicy,
    /// With discard new, refuse a message whose subject is at its per-subject limit.
    pub discard_new_per_subject: bool,
    pub allow_msg_ttl: bool,
    /// Zero disables subject delete markers.
    pub subject_delete_marker_ttl: Duration,
    /// The first sequence of a new stream (0 means 1).
    pub first_seq: u64,
    pub compression: StoreCompression,
    /// Messages with a `Nats-Schedule` header publish scheduled messages.
    pub allow_msg_schedules: bool,
}

/// How a consumer acknowledges; only what the consumer store needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckPolicy {
    None,
    All,
    #[default]
    Explicit,
    FlowControl,
}

/// The part of a consumer's configuration a consumer store needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerConfig {
    pub name: String,
    pub ack_policy: AckPolicy,
    /// Zero or negative means unlimited.
    pub max_deliver: i64,
}

// ---------------------------------------------------------------------------------------
// Messages and state
// ---------------------------------------------------------------------------------------

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreMsg {
    pub subject: String,
    pub hdr: Bytes,
    pub msg: Bytes,
    pub seq: u64,
    /// Nanoseconds since the Unix epoch.
    pub ts: i64,
}

/// A message handed back to the stream layer to be processed like a published one
/// (subject delete markers).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InMsg {
    pub subject: String,
    pub hdr: Bytes,
    pub msg: Bytes,
}

/// Messages lost to corruption, as reported in stream state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LostStreamData {
    pub msgs: Vec<u64>,
    pub bytes: u64,
}

/// A stream's state. Times are nanoseconds since the Unix epoch, 0 when unset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamState {
    pub msgs: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub first_time: i64,
    pub last_seq: u64,
    pub last_time: i64,
    pub num_subjects: usize,
    pub subjects: Option<HashMap<String, u64>>,
    pub num_deleted: usize,
    pub deleted: Vec<u64>,
    pub lost: Option<LostStreamData>,
    pub consumers: usize,
}

/// Per-subject (or filtered) state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimpleState {
    pub msgs: u64,
    pub first: u64,
    pub last: u64,
}

/// Both sequences of one delivered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SequencePair {
    pub consumer: u64,
    pub stream: u64,
}

/// A message delivered and not yet acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pending {
    /// The consumer sequence of the original delivery.
    pub sequence: u64,
    /// Delivery time, nanoseconds since the Unix epoch.
    pub timestamp: i64,
}

/// A consumer's persisted state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerState {
    pub delivered: SequencePair,
    pub ack_floor: SequencePair,
    /// Keyed by stream sequence; present with explicit (or all) acks.
    pub pending: BTreeMap<u64, Pending>,
    /// Stream sequence → number of redeliveries (delivery count - 1).
    pub redelivered: BTreeMap<u64, u64>,
}

/// A point-in-time snapshot of a stream as a byte stream, with its state when taken.
pub struct SnapshotResult {
    pub reader: Box<dyn Read + Send>,
    pub state: StreamState,
}

impl fmt::Debug for SnapshotResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotResult")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Called on every change of stored messages and bytes: `(msgs delta, bytes delta, seq,
/// subject)`; seq and subject are set when a single message changed.
pub type StorageUpdateHandler = Arc<dyn Fn(i64, i64, u64, &str) + Send + Sync>;
/// Called to remove a message through the stream layer (replicated streams propose it).
pub type StorageRemoveMsgHandler = Arc<dyn Fn(u64) + Send + Sync>;
/// Called to process a message as if published (subject delete markers).
pub type ProcessJetStreamMsgHandler = Arc<dyn Fn(InMsg) + Send + Sync>;

/// The result of a directional scan (`load_next_msg`, `load_prev_msg`): the message and its
/// sequence, or the error and the sequence the caller may skip to (Go returns both).
pub type ScanResult = Result<(StoreMsg, u64), (StoreError, u64)>;

// ---------------------------------------------------------------------------------------
// Deleted blocks (replicated stream state)
// ---------------------------------------------------------------------------------------

/// A set of deleted sequences as carried in an encoded stream state.
pub trait DeleteBlock: Send + Sync + fmt::Debug {
    /// `(first, last, count)`.
    fn state(&self) -> (u64, u64, u64);
    /// Calls `f` for each deleted sequence in order until it returns false.
    fn range(&self, f: &mut dyn FnMut(u64) -> bool);
}

pub type DeleteBlocks = Vec<Box<dyn DeleteBlock>>;

/// Total deleted sequences over blocks.
pub fn num_deleted(dbs: &[Box<dyn DeleteBlock>]) -> u64 {
    dbs.iter().map(|db| db.state().2).sum()
}

/// A run of `num` deleted sequences starting at `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeleteRange {
    pub first: u64,
    pub num: u64,
}

impl DeleteBlock for DeleteRange {
    fn state(&self) -> (u64, u64, u64) {
        let after_first = self.num.saturating_sub(1);
        (self.first, self.first + after_first, self.num)
    }

    fn range(&self, f: &mut dyn FnMut(u64) -> bool) {
        for seq in self.first..self.first + self.num {
            if !f(seq) {
                return;
            }
        }
    }
}

/// A sorted list of deleted sequences (Go's legacy form).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteSlice(pub Vec<u64>);

impl DeleteBlock for DeleteSlice {
    fn state(&self) -> (u64, u64, u64) {
        match (self.0.first(), self.0.last()) {
            (Some(&first), Some(&last)) => (first, last, self.0.len() as u64),
            _ => (0, 0, 0),
        }
    }

    fn range(&self, f: &mut dyn FnMut(u64) -> bool) {
        for &seq in &self.0 {
            if !f(seq) {
                return;
            }
        }
    }
}

impl DeleteBlock for crate::avl::SequenceSet {
    fn state(&self) -> (u64, u64, u64) {
        crate::avl::SequenceSet::state(self)
    }

    fn range(&self, f: &mut dyn FnMut(u64) -> bool) {
        crate::avl::SequenceSet::range(self, f);
    }
}

/// Whether `db` (a block of a leader's deleted state) is already one of `local` (the
/// store's own delete blocks, ascending), and the part of `local` to compare the next
/// block of the same ascending list with (Go's `pruneDeleteBlock`). Local blocks that end
/// before `db` starts are passed over. A match needs the same first, last and count and,
/// unless that makes the block dense, the same sequences.
pub fn prune_delete_block<'a, B: AsRef<dyn DeleteBlock>>(
    db: &dyn DeleteBlock,
    local: &'a [B],
) -> (bool, &'a [B]) {
    let (first, last, num) = db.state();
    let mut rest = local;
    while let Some(candidate) = rest.first() {
        let (c_first, c_last, c_num) = candidate.as_ref().state();
        if c_last < first {
            rest = &rest[1..];
            continue;
        }
        let same_state = (first, last, num) == (c_first, c_last, c_num);
        if same_state && (num == last - first + 1 || same_sequences(db, candidate.as_ref())) {
            return (true, &rest[1..]);
        }
        return (false, rest);
    }
    (false, rest)
}

/// Whether two delete blocks name the same sequences.
fn same_sequences(a: &dyn DeleteBlock, b: &dyn DeleteBlock) -> bool {
    let mut seqs = Vec::new();
    a.range(&mut |seq| {
        seqs.push(seq);
        true
    });
    let mut next = seqs.into_iter();
    let mut equal = true;
    b.range(&mut |seq| {
        equal = next.next() == Some(seq);
        equal
    });
    equal && next.next().is_none()
}

/// Decodes a sequence-set record with [`crate::avl::decode`], for [`decode_stream_state`].
pub fn decode_avl_delete_block(buf: &[u8]) -> Option<(Box<dyn DeleteBlock>, usize)> {
    let (set, n) = crate::avl::decode(buf).ok()?;
    Some((Box::new(set), n))
}

/// A decoded replicated stream state.
#[derive(Debug, Default)]
pub struct StreamReplicatedState {
    pub msgs: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub failed: u64,
    pub deleted: DeleteBlocks,
}

/// Identifies an encoded stream state.
pub const STREAM_STATE_MAGIC: u8 = 42;
pub const STREAM_STATE_VERSION: u8 = 1;
/// Identifies a run-length delete record in an encoded stream state.
pub const RUN_LENGTH_MAGIC: u8 = 33;
/// Identifies an encoded sequence set in an encoded stream state.
pub const SEQ_SET_MAGIC: u8 = 22;
/// First byte of an encoded consumer state (Go's file-store magic).
pub const CONSUMER_STATE_MAGIC: u8 = 22;
/// Length of the magic + version header.
pub const HDR_LEN: usize = 2;

/// Whether `buf` starts like an encoded stream state.
pub fn is_encoded_stream_state(buf: &[u8]) -> bool {
    buf.len() >= HDR_LEN && buf[0] == STREAM_STATE_MAGIC && buf[1] == STREAM_STATE_VERSION
}

/// Encodes a stream state with its deleted sequences as run-length records (which Go's
/// decoder reads as well as its own sequence-set records).
pub fn encode_stream_state(
    msgs: u64,
    bytes: u64,
    first_seq: u64,
    last_seq: u64,
    failed: u64,
    deleted: &[DeleteRange],
) -> Vec<u8> {
    let num_deleted: u64 = deleted.iter().map(|d| d.num).sum();
    let mut b = Vec::with_capacity(HDR_LEN + 6 * 10 + deleted.len() * 21);
    b.push(STREAM_STATE_MAGIC);
    b.push(STREAM_STATE_VERSION);
    for v in [msgs, bytes, first_seq, last_seq, failed, num_deleted] {
        put_uvarint(&mut b, v);
    }
    if num_deleted > 0 {
        for d in deleted {
            b.push(RUN_LENGTH_MAGIC);
            put_uvarint(&mut b, d.first);
            put_uvarint(&mut b, d.num);
        }
    }
    b
}

/// Decodes one sequence-set record of an encoded stream state into a block and the number
/// of bytes it took.
pub type SeqSetDecoder = dyn Fn(&[u8]) -> Option<(Box<dyn DeleteBlock>, usize)>;

/// Decodes an encoded stream state. A sequence-set record is decoded by `decode_seq_set`
/// (given by the caller so this module does not depend on the set's encoding); it returns
/// the block and the bytes consumed.
pub fn decode_stream_state(
    buf: &[u8],
    decode_seq_set: &SeqSetDecoder,
) -> Result<StreamReplicatedState, StoreError> {
    if !is_encoded_stream_state(buf) {
        return Err(StoreError::BadStreamStateEncoding);
    }
    let mut r = VarintReader::new(buf, HDR_LEN);
    let mut ss = StreamReplicatedState {
        msgs: r.uvarint(),
        bytes: r.uvarint(),
        first_seq: r.uvarint(),
        last_seq: r.uvarint(),
        failed: r.uvarint(),
        deleted: Vec::new(),
    };
    if r.failed() {
        return Err(StoreError::CorruptStreamState);
    }
    if r.uvarint() > 0 {
        while let Some(&kind) = buf.get(r.pos) {
            match kind {
                SEQ_SET_MAGIC => {
                    let (db, n) =
                        decode_seq_set(&buf[r.pos..]).ok_or(StoreError::CorruptStreamState)?;
                    r.pos += n;
                    ss.deleted.push(db);
                }
                RUN_LENGTH_MAGIC => {
                    r.pos += 1;
                    let first = r.uvarint();
                    let num = r.uvarint();
                    if r.failed() {
                        return Err(StoreError::CorruptStreamState);
                    }
                    ss.deleted.push(Box::new(DeleteRange { first, num }));
                }
                _ => return Err(StoreError::CorruptStreamState),
            }
        }
    }
    Ok(ss)
}

// ---------------------------------------------------------------------------------------
// Consumer state encoding (Go's persisted layout, version 2)
// ---------------------------------------------------------------------------------------

/// Encodes a consumer state in Go's binary layout. Pending timestamps are stored in whole
/// seconds relative to `now_ns` rounded to the second, as Go does.
pub fn encode_consumer_state(state: &ConsumerState, now_ns: i64) -> Vec<u8> {
    let mut b = Vec::with_capacity(
        HDR_LEN + 6 * 10 + state.pending.len() * 30 + state.redelivered.len() * 20,
    );
    b.push(CONSUMER_STATE_MAGIC);
    b.push(2);
    put_uvarint(&mut b, state.ack_floor.consumer);
    put_uvarint(&mut b, state.ack_floor.stream);
    put_uvarint(&mut b, state.delivered.consumer);
    put_uvarint(&mut b, state.delivered.stream);
    put_uvarint(&mut b, state.pending.len() as u64);

    let asflr = state.ack_floor.stream;
    let adflr = state.ack_floor.consumer;
    if !state.pending.is_empty() {
        // Base timestamp: now rounded to the nearest second.
        let mints = (now_ns + NANOS_PER_SEC / 2).div_euclid(NANOS_PER_SEC);
        put_varint(&mut b, mints);
        for (&sseq, p) in &state.pending {
            put_uvarint(&mut b, sseq.wrapping_sub(asflr));
            put_uvarint(&mut b, p.sequence.wrapping_sub(adflr));
            put_varint(&mut b, mints - p.timestamp / NANOS_PER_SEC);
        }
    }
    put_uvarint(&mut b, state.redelivered.len() as u64);
    for (&sseq, &count) in &state.redelivered {
        put_uvarint(&mut b, sseq.wrapping_sub(asflr));
        put_uvarint(&mut b, count);
    }
    b
}

/// Decodes a consumer state written by [`encode_consumer_state`] or by Go (versions 1, 2).
pub fn decode_consumer_state(buf: &[u8]) -> Result<ConsumerState, StoreError> {
    if buf.len() < HDR_LEN || buf[0] != CONSUMER_STATE_MAGIC {
        return Err(StoreError::CorruptState);
    }
    let version = buf[1];
    if version != 1 && version != 2 {
        return Err(StoreError::Other(format!("unsupported version: {version}")));
    }
    let mut r = VarintReader::new(buf, HDR_LEN);
    let mut state = ConsumerState::default();
    state.ack_floor.consumer = r.uvarint();
    state.ack_floor.stream = r.uvarint();
    state.delivered.consumer = r.uvarint();
    state.delivered.stream = r.uvarint();
    if r.failed() {
        return Err(StoreError::CorruptState);
    }
    if version == 1 {
        // Version 1 stored delivered as "next to deliver", relative to the floor.
        // Go's arithmetic wraps; damaged input must not panic here either.
        if state.ack_floor.consumer > 1 {
            state.delivered.consumer = state
                .delivered
                .consumer
                .wrapping_add(state.ack_floor.consumer - 1);
        }
        if state.ack_floor.stream > 1 {
            state.delivered.stream = state
                .delivered
                .stream
                .wrapping_add(state.ack_floor.stream - 1);
        }
    }
    // A set high bit means a negative number went in: refuse to roll backwards.
    const HIGH_BIT: u64 = 1 << 63;
    if state.ack_floor.stream & HIGH_BIT != 0 || state.delivered.stream & HIGH_BIT != 0 {
        return Err(StoreError::CorruptState);
    }

    let num_pending = r.uvarint();
    if num_pending > 0 {
        let mints = r.varint();
        for _ in 0..num_pending {
            let mut sseq = r.uvarint();
            let mut dseq = if version == 2 { r.uvarint() } else { 0 };
            let ts = r.varint();
            if r.failed() {
                return Err(StoreError::CorruptState);
            }
            sseq = sseq.wrapping_add(state.ack_floor.stream);
            if sseq == 0 {
                return Err(StoreError::CorruptState);
            }
            if version == 2 {
                dseq = dseq.wrapping_add(state.ack_floor.consumer);
            }
            let timestamp = if version == 1 {
                ts.wrapping_add(mints).wrapping_mul(NANOS_PER_SEC)
            } else {
                mints.wrapping_sub(ts).wrapping_mul(NANOS_PER_SEC)
            };
            state.pending.insert(
                sseq,
                Pending {
                    sequence: dseq,
                    timestamp,
                },
            );
        }
    }
    let num_redelivered = r.uvarint();
    for _ in 0..num_redelivered {
        let seq = r.uvarint();
        let count = r.uvarint();
        if r.failed() {
            break;
        }
        if seq > 0 && count > 0 {
            state
                .redelivered
                .insert(seq.wrapping_add(state.ack_floor.stream), count);
        }
    }
    Ok(state)
}

/// Appends `v` as an unsigned LEB128 varint (Go's `binary.PutUvarint`).
pub fn put_uvarint(b: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        b.push((v as u8) | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

/// Appends `v` zig-zag encoded (Go's `binary.PutVarint`).
pub fn put_varint(b: &mut Vec<u8>, v: i64) {
    let ux = ((v as u64) << 1) ^ ((v >> 63) as u64);
    put_uvarint(b, ux);
}

/// Reads an unsigned varint; `None` when truncated or overlong.
pub fn read_uvarint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    let mut shift = 0u32;
    for (i, &byte) in buf.iter().enumerate() {
        if i == 10 {
            return None;
        }
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return None;
            }
            return Some((x | (u64::from(byte) << shift), i + 1));
        }
        x |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    None
}

/// Reads a zig-zag varint.
pub fn read_varint(buf: &[u8]) -> Option<(i64, usize)> {
    let (ux, n) = read_uvarint(buf)?;
    let mut x = (ux >> 1) as i64;
    if ux & 1 != 0 {
        x = !x;
    }
    Some((x, n))
}

/// Sequential varint reads that latch the first failure (then yield zeros).
struct VarintReader<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> VarintReader<'a> {
    fn new(buf: &'a [u8], pos: usize) -> Self {
        Self {
            buf,
            pos,
            failed: false,
        }
    }

    fn uvarint(&mut self) -> u64 {
        if self.failed {
            return 0;
        }
        match self.buf.get(self.pos..).and_then(read_uvarint) {
            Some((v, n)) => {
                self.pos += n;
                v
            }
            None => {
                self.failed = true;
                0
            }
        }
    }

    fn varint(&mut self) -> i64 {
        if self.failed {
            return 0;
        }
        match self.buf.get(self.pos..).and_then(read_varint) {
            Some((v, n)) => {
                self.pos += n;
                v
            }
            None => {
                self.failed = true;
                0
            }
        }
    }

    fn failed(&self) -> bool {
        self.failed
    }
}

// ---------------------------------------------------------------------------------------
// Subject matching
// ---------------------------------------------------------------------------------------

/// The full wildcard filter.
pub const FULL_WILDCARD: &str = ">";

/// Whether `subject` has no wildcard tokens.
pub fn subject_is_literal(subject: &str) -> bool {
    !subject.split('.').any(|t| t == "*" || t == ">")
}

/// Whether a subject has a wildcard token.
pub fn subject_has_wildcard(subject: &str) -> bool {
    !subject_is_literal(subject)
}

/// Whether every subject matched by `subject` (which may have wildcards) is matched by
/// `filter`. For a literal subject this is plain filter matching.
pub fn subject_is_subset_match(subject: &str, filter: &str) -> bool {
    let mut tokens = subject.split('.');
    let mut tests = filter.split('.');
    loop {
        match (tokens.next(), tests.next()) {
            (None, None) => return true,
            (None, Some(_)) => return false,
            (_, Some(">")) => return true,
            (Some(t1), Some(t2)) => {
                if t1.is_empty() || t2.is_empty() || t1 == ">" {
                    return false;
                }
                if t1 == "*" {
                    if t2 != "*" {
                        return false;
                    }
                    continue;
                }
                if t2 != "*" && t1 != t2 {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Whether the literal `subject` matches `filter` (which may have wildcards).
pub fn subject_matches(subject: &str, filter: &str) -> bool {
    subject_is_subset_match(subject, filter)
}

/// A set of subject filters, any of which may match (Go passes a simple sublist).
#[derive(Debug, Clone, Default)]
pub struct SubjectFilters {
    literals: HashSet<String>,
    wildcards: Vec<String>,
}

impl SubjectFilters {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, filter: &str) {
        if subject_is_literal(filter) {
            self.literals.insert(filter.to_string());
        } else if !self.wildcards.iter().any(|w| w == filter) {
            self.wildcards.push(filter.to_string());
        }
    }

    pub fn has_interest(&self, subject: &str) -> bool {
        self.literals.contains(subject)
            || self.wildcards.iter().any(|w| subject_matches(subject, w))
    }

    /// Every filter, literals and wildcards.
    pub fn filters(&self) -> impl Iterator<Item = &str> {
        self.literals
            .iter()
            .map(String::as_str)
            .chain(self.wildcards.iter().map(String::as_str))
    }

    pub fn is_empty(&self) -> bool {
        self.literals.is_empty() && self.wildcards.is_empty()
    }
}

/// Lets [`crate::stree::intersect_gsl`] walk only the subjects these filters can match.
impl crate::stree::SubjectInterest for SubjectFilters {
    fn has_interest(&self, subject: &[u8]) -> bool {
        std::str::from_utf8(subject).is_ok_and(|s| SubjectFilters::has_interest(self, s))
    }

    fn has_interest_starting_in(&self, prefix: &[u8]) -> bool {
        let Ok(prefix) = std::str::from_utf8(prefix) else {
            return false;
        };
        self.filters().any(|filter| {
            let mut tokens = filter.split('.');
            for token in prefix.split('.') {
                match tokens.next() {
                    Some(">") => return true,
                    Some(t) if t == "*" || t == token => {}
                    _ => return false,
                }
            }
            true
        })
    }
}

impl<S: AsRef<str>> FromIterator<S> for SubjectFilters {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut set = Self::new();
        for f in iter {
            set.insert(f.as_ref());
        }
        set
    }
}

// ---------------------------------------------------------------------------------------
// Headers the store reads
// ---------------------------------------------------------------------------------------

/// Header carrying a per-message TTL.
pub const JS_MESSAGE_TTL: &str = "Nats-TTL";
/// Header carrying the reason of a subject delete marker.
pub const JS_MARKER_REASON: &str = "Nats-Marker-Reason";
/// Header asking for a rollup.
pub const JS_MSG_ROLLUP: &str = "Nats-Rollup";
pub const JS_MSG_ROLLUP_SUBJECT: &str = "sub";
pub const JS_MARKER_REASON_MAX_AGE: &str = "MaxAge";

/// The value of header `key` in a NATS header block (`NATS/1.0\r\nK: V\r\n...`).
pub fn header_value<'a>(hdr: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let text = hdr;
    let mut lines = text.split(|&b| b == b'\n').skip(1);
    lines.find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|&b| b == b':')?;
        let (k, v) = line.split_at(colon);
        if k == key.as_bytes() {
            Some(v[1..].trim_ascii())
        } else {
            None
        }
    })
}

/// The TTL in seconds of a message from its `Nats-TTL` header: `Ok(0)` when absent,
/// `Ok(-1)` for "never", an error for an invalid value. Values are seconds or a Go
/// duration (`1s`, `2m`, `1h30m`).
pub fn message_ttl(hdr: &[u8]) -> Result<i64, StoreError> {
    match header_value(hdr, JS_MESSAGE_TTL) {
        None => Ok(0),
        Some(v) => parse_message_ttl(v),
    }
}

/// Parses a TTL value as Go's `parseMessageTTL` does: `never`, a Go duration of at least
/// one second, or a whole number of seconds.
pub fn parse_message_ttl(v: &[u8]) -> Result<i64, StoreError> {
    let invalid = || StoreError::Other("invalid per-message TTL".to_string());
    let s = std::str::from_utf8(v).map_err(|_| invalid())?;
    if s.eq_ignore_ascii_case("never") {
        return Ok(-1);
    }
    if let Some(d) = parse_go_duration(s) {
        if d < NANOS_PER_SEC {
            return Err(invalid());
        }
        return Ok(d / NANOS_PER_SEC);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    s.parse::<i64>().map_err(|_| invalid())
}

/// Parses a Go duration string (`300ms`, `1.5h`, `2h45m`) into nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let value: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += value * scale;
    }
    let total = if neg { -total } else { total };
    Some(total as i64)
}

/// Header of a key-value operation.
pub const KV_OPERATION: &str = "KV-Operation";

/// Whether the message is a subject delete marker: it has a marker reason, or it is a
/// key-value purge.
pub fn is_subject_delete_marker(hdr: &[u8]) -> bool {
    header_value(hdr, JS_MARKER_REASON).is_some_and(|v| !v.is_empty())
        || header_value(hdr, KV_OPERATION) == Some(b"PURGE".as_slice())
}

/// Formats whole seconds as Go prints a `time.Duration` (`1s`, `1m0s`, `2h0m5s`).
pub fn format_go_duration_secs(secs: i64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{sign}{m}m{sec}s")
    } else {
        format!("{sign}{sec}s")
    }
}

// ---------------------------------------------------------------------------------------
// Traits
// ---------------------------------------------------------------------------------------

/// A stream's message store. See the module documentation for the locking and time model.
pub trait Store: Send + Sync {
    /// Stores a message at the next sequence with the current time; returns `(seq, ts)`.
    /// `ttl` is seconds (0 none, -1 never). Discard-new limits are checked here.
    fn store_msg(
        &self,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
        ttl: i64,
    ) -> Result<(u64, i64), StoreError>;

    /// Stores a message with the sequence and timestamp chosen by the caller (replication).
    /// `seq` 0 means "next"; otherwise it must be last + 1.
    #[allow(clippy::too_many_arguments)]
    fn store_raw_msg(
        &self,
        subject: &str,
        hdr: &[u8],
        msg: &[u8],
        seq: u64,
        ts: i64,
        ttl: i64,
        discard_new_check: bool,
    ) -> Result<(), StoreError>;

    /// Uses up sequence `seq` (0 means next) without storing anything.
    fn skip_msg(&self, seq: u64) -> Result<u64, StoreError>;
    /// As [`Store::skip_msg`] but also advances the last time (interest retention).
    fn skip_msg_no_interest(&self, seq: u64) -> Result<u64, StoreError>;
    /// Uses up `num` sequences starting at `seq` (0 means next).
    fn skip_msgs(&self, seq: u64, num: u64) -> Result<(), StoreError>;
    /// Writes out anything buffered (file store).
    fn flush_all_pending(&self) -> Result<(), StoreError>;

    /// The message at `seq`: `MsgNotFound` if deleted, `Eof` if past the end.
    fn load_msg(&self, seq: u64) -> Result<StoreMsg, StoreError>;
    /// The first message at or after `start` whose subject matches `filter` (`wc`: the
    /// filter has wildcards; an empty filter matches all).
    fn load_next_msg(&self, filter: &str, wc: bool, start: u64) -> ScanResult;
    /// The first message at or after `start` matching any of `filters`.
    fn load_next_msg_multi(&self, filters: &SubjectFilters, start: u64) -> ScanResult;
    /// The last message whose subject matches `subject` (may be a wildcard; empty = all).
    fn load_last_msg(&self, subject: &str) -> Result<StoreMsg, StoreError>;
    /// The last message at or before `start` matching `filter`.
    fn load_prev_msg(&self, filter: &str, wc: bool, start: u64) -> ScanResult;
    /// The last message at or before `start` matching any of `filters`.
    fn load_prev_msg_multi(&self, filters: &SubjectFilters, start: u64) -> ScanResult;

    /// Removes a message; false if it was not there.
    fn remove_msg(&self, seq: u64) -> Result<bool, StoreError>;
    /// Removes a message and overwrites its contents.
    fn erase_msg(&self, seq: u64) -> Result<bool, StoreError>;
    /// Removes every message; returns how many.
    fn purge(&self) -> Result<u64, StoreError>;
    /// Removes messages matching `subject` below `seq` (0: any), keeping the newest `keep`
    /// (0: none).
    fn purge_ex(&self, subject: &str, seq: u64, keep: u64) -> Result<u64, StoreError>;
    /// Removes every message below `seq`; the next first sequence is `seq`.
    fn compact(&self, seq: u64) -> Result<u64, StoreError>;
    /// Removes every message above `seq`; 0 resets the store.
    fn truncate(&self, seq: u64) -> Result<(), StoreError>;

    /// The first sequence whose timestamp is at or after `ts` (ns), or last + 1.
    fn get_seq_from_time(&self, ts: i64) -> u64;
    /// State of the messages matching `subject` from sequence `seq` on.
    fn filtered_state(&self, seq: u64, subject: &str) -> Result<SimpleState, StoreError>;
    /// Per-subject state of the subjects matching `filter` (empty = all).
    fn subjects_state(&self, filter: &str) -> HashMap<String, SimpleState>;
    /// Per-subject message counts of the subjects matching `filter` (empty = all).
    fn subjects_totals(&self, filter: &str) -> HashMap<String, u64>;
    /// The last sequence of every subject, sorted.
    fn all_last_seqs(&self) -> Result<Vec<u64>, StoreError>;
    /// The last sequence at or below `max_seq` (0: last) of every subject matching any of
    /// `filters`, sorted; `TooManyResults` past `max_allowed` (0: unlimited).
    fn multi_last_seqs(
        &self,
        filters: &[String],
        max_seq: u64,
        max_allowed: usize,
    ) -> Result<Vec<u64>, StoreError>;
    /// The subject of the message at `seq`.
    fn subject_for_seq(&self, seq: u64) -> Result<String, StoreError>;
    /// Messages matching `filter` from `sseq` on (one per subject if `last_per_subject`);
    /// returns `(total, valid_through)`.
    fn num_pending(
        &self,
        sseq: u64,
        filter: &str,
        last_per_subject: bool,
    ) -> Result<(u64, u64), StoreError>;
    /// As [`Store::num_pending`] for any of `filters`.
    fn num_pending_multi(
        &self,
        sseq: u64,
        filters: &SubjectFilters,
        last_per_subject: bool,
    ) -> Result<(u64, u64), StoreError>;

    /// Full state, including the deleted sequences.
    fn state(&self) -> StreamState;
    /// Counts, first/last sequence and time, number deleted, subjects and consumers; no
    /// deleted list.
    fn fast_state(&self) -> StreamState;
    /// The binary stream state used by replication snapshots.
    fn encoded_stream_state(&self, failed: u64) -> Result<Vec<u8>, StoreError>;
    /// Removes whatever `dbs` says is deleted (follower catching up with a leader).
    fn sync_deleted(&self, dbs: &[Box<dyn DeleteBlock>]) -> Result<(), StoreError>;
    fn storage_type(&self) -> StorageType;

    fn register_storage_updates(&self, cb: StorageUpdateHandler);
    fn register_storage_remove_msg(&self, cb: StorageRemoveMsgHandler);
    fn register_process_jetstream_msg(&self, cb: ProcessJetStreamMsgHandler);

    /// Applies new limits (and enforces them at once). Like Go, normalizes the caller's
    /// config (a per-subject limit below -1 becomes -1).
    fn update_config(&self, cfg: &mut StreamConfig) -> Result<(), StoreError>;
    /// Stops the store and removes what it keeps.
    fn delete(&self, inline: bool) -> Result<(), StoreError>;
    /// Stops the store; later calls fail with `Closed`.
    fn stop(&self) -> Result<(), StoreError>;

    /// A consumer state store attached to this stream.
    fn consumer_store(
        &self,
        name: &str,
        created: i64,
        cfg: &ConsumerConfig,
    ) -> Result<Arc<dyn ConsumerStore>, StoreError>;

    /// A snapshot of the stream as a stream of bytes.
    fn snapshot(
        &self,
        deadline: Duration,
        include_consumers: bool,
        check_msgs: bool,
    ) -> Result<SnapshotResult, StoreError>;
    /// `(total bytes used, bytes reported)`.
    fn utilization(&self) -> Result<(u64, u64), StoreError>;
    /// Clears temporary state (leader change).
    fn reset_state(&self);

    /// When the next age or TTL expiry is due (ns), if any.
    fn next_expiration(&self) -> Option<i64>;
    /// Removes (or marks, with subject delete markers) every message due to expire now.
    fn expire_msgs(&self);

    /// When the next message schedule fires (ns), if any. Stores without message
    /// schedules have none.
    fn next_msg_schedule(&self) -> Option<i64> {
        None
    }

    /// Hands every due scheduled message to the process handler.
    fn run_msg_scheduling(&self) {}
}

/// A consumer's state store.
pub trait ConsumerStore: Send + Sync {
    fn set_starting(&self, sseq: u64) -> Result<(), StoreError>;
    fn update_starting(&self, sseq: u64);
    fn reset(&self, sseq: u64) -> Result<(), StoreError>;
    fn has_state(&self) -> bool;
    /// Records a delivery: consumer seq, stream seq, delivery count, time (ns).
    fn update_delivered(&self, dseq: u64, sseq: u64, dc: u64, ts: i64) -> Result<(), StoreError>;
    fn update_acks(&self, dseq: u64, sseq: u64) -> Result<(), StoreError>;
    fn remove_redelivered_below(&self, seq: u64);
    fn update_config(&self, cfg: &ConsumerConfig) -> Result<(), StoreError>;
    /// Replaces the state; `OldUpdate` if it goes backwards.
    fn update(&self, state: &ConsumerState) -> Result<(), StoreError>;
    /// Replaces the state even if it goes backwards.
    fn force_update(&self, state: &ConsumerState) -> Result<(), StoreError>;
    fn state(&self) -> Result<ConsumerState, StoreError>;
    fn encoded_state(&self) -> Result<Vec<u8>, StoreError>;
    fn storage_type(&self) -> StorageType;
    fn stop(&self) -> Result<(), StoreError>;
    fn delete(&self) -> Result<(), StoreError>;
    fn stream_delete(&self) -> Result<(), StoreError>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prune_matches_only_the_same_sequences() {
        let set = |seqs: &[u64]| -> Box<dyn DeleteBlock> {
            Box::new(seqs.iter().copied().collect::<crate::avl::SequenceSet>())
        };
        let range = |first, num| -> Box<dyn DeleteBlock> { Box::new(DeleteRange { first, num }) };
        let local = vec![set(&[3]), range(10, 5), set(&[20, 22])];
        // Behind every local block: nothing pruned, nothing passed over.
        let (pruned, rest) = prune_delete_block(range(1, 1).as_ref(), &local);
        assert!(!pruned);
        assert_eq!(rest.len(), 3);
        // A dense set equals a range with the same bounds.
        let (pruned, rest) = prune_delete_block(set(&[10, 11, 12, 13, 14]).as_ref(), &local);
        assert!(pruned);
        assert_eq!(rest.len(), 1);
        // Same state, other sequences.
        let (pruned, rest) = prune_delete_block(DeleteSlice(vec![20, 21]).state_block(), rest);
        assert!(!pruned);
        assert_eq!(rest.len(), 1);
        let (pruned, rest) = prune_delete_block(DeleteSlice(vec![20, 22]).state_block(), rest);
        assert!(pruned);
        assert!(rest.is_empty());
    }

    impl DeleteSlice {
        fn state_block(&self) -> &dyn DeleteBlock {
            self
        }
    }

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            let mut b = Vec::new();
            put_uvarint(&mut b, v);
            assert_eq!(read_uvarint(&b), Some((v, b.len())));
        }
        for v in [0i64, -1, 1, -300, i64::MIN, i64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(read_varint(&b), Some((v, b.len())));
        }
        assert_eq!(read_uvarint(&[0x80]), None);
    }

    #[test]
    fn consumer_state_round_trips_with_second_resolution() {
        let now = 1_700_000_000 * NANOS_PER_SEC + 400_000_000;
        let mut state = ConsumerState {
            delivered: SequencePair {
                consumer: 10,
                stream: 22,
            },
            ack_floor: SequencePair {
                consumer: 5,
                stream: 11,
            },
            ..Default::default()
        };
        state.pending.insert(
            15,
            Pending {
                sequence: 7,
                timestamp: now - 3 * NANOS_PER_SEC,
            },
        );
        state.redelivered.insert(15, 2);
        let enc = encode_consumer_state(&state, now);
        assert_eq!(&enc[..2], &[22, 2]);
        let dec = decode_consumer_state(&enc).unwrap();
        assert_eq!(dec.delivered, state.delivered);
        assert_eq!(dec.ack_floor, state.ack_floor);
        assert_eq!(dec.redelivered, state.redelivered);
        let p = dec.pending[&15];
        assert_eq!(p.sequence, 7);
        assert_eq!(p.timestamp, (now / NANOS_PER_SEC - 3) * NANOS_PER_SEC);
        assert_eq!(
            decode_consumer_state(&[1, 2, 3]),
            Err(StoreError::CorruptState)
        );
    }

    #[test]
    fn stream_state_round_trips_run_lengths() {
        let enc = encode_stream_state(5, 100, 1, 9, 0, &[DeleteRange { first: 3, num: 2 }]);
        assert!(is_encoded_stream_state(&enc));
        let ss = decode_stream_state(&enc, &|_| None).unwrap();
        assert_eq!(
            (ss.msgs, ss.bytes, ss.first_seq, ss.last_seq),
            (5, 100, 1, 9)
        );
        assert_eq!(num_deleted(&ss.deleted), 2);
        assert_eq!(ss.deleted[0].state(), (3, 4, 2));
    }

    #[test]
    fn subject_matching() {
        assert!(subject_matches("foo.bar", "foo.*"));
        assert!(subject_matches("foo.bar.baz", "foo.>"));
        assert!(!subject_matches("foo", "foo.>"));
        assert!(subject_matches("foo", ">"));
        assert!(!subject_matches("foo.bar", "foo"));
        assert!(subject_is_subset_match("foo.*", "foo.*"));
        assert!(subject_is_subset_match("foo.*", ">"));
        assert!(!subject_is_subset_match("foo.*", "foo.bar"));
        let set: SubjectFilters = ["foo.1", "bar.>"].into_iter().collect();
        assert!(set.has_interest("foo.1") && set.has_interest("bar.x.y"));
        assert!(!set.has_interest("foo.2"));
        use crate::stree::SubjectInterest;
        assert!(set.has_interest_starting_in(b"foo"));
        assert!(set.has_interest_starting_in(b"bar.x.y.z"));
        assert!(!set.has_interest_starting_in(b"foo.2"));
        assert!(!set.has_interest_starting_in(b"baz"));
        let mut tree = crate::stree::SubjectTree::new();
        for s in ["foo.1", "foo.2", "bar.a.b", "baz"] {
            tree.insert(s.as_bytes(), ());
        }
        let mut seen = Vec::new();
        crate::stree::intersect_gsl(&tree, &set, |s, _| {
            seen.push(String::from_utf8_lossy(s).into_owned());
            true
        });
        seen.sort();
        assert_eq!(seen, vec!["bar.a.b", "foo.1"]);
    }

    #[test]
    fn ttl_header() {
        let hdr = b"NATS/1.0\r\nNats-TTL: 2s\r\n\r\n";
        assert_eq!(message_ttl(hdr), Ok(2));
        assert_eq!(message_ttl(b"NATS/1.0\r\nNats-TTL: 5\r\n\r\n"), Ok(5));
        assert_eq!(message_ttl(b"NATS/1.0\r\nNats-TTL: never\r\n\r\n"), Ok(-1));
        assert_eq!(message_ttl(b"NATS/1.0\r\nFoo: 1\r\n\r\n"), Ok(0));
        assert!(message_ttl(b"NATS/1.0\r\nNats-TTL: 0\r\n\r\n").is_err());
        assert_eq!(parse_go_duration("1h30m"), Some(5400 * NANOS_PER_SEC));
    }

    #[test]
    fn damaged_consumer_state_is_decoded_without_overflow() {
        // Found by the store_files fuzz target: a version 1 floor near the top of the
        // range, and pending timestamps that overflow, both panicked.
        for input in [
            &b"\x16\x01\xaa\x01\x80\xd6\x80\x23\xaa\xff\xff\xff\xff\xff\xff\xff\xff\x01\x80\xde\x80\xcf\xcf\x80\x9f\x80\x5f\x5f\xfd\x12\x3d"[..],
            &b"\x16\x01\x2a\x01\x80\xde\x80\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x7e\x23\x8a\xff\xff\xff\xff\xff\xff\xff\xff\x01\x80\xde\x80\xde\xaa\x6d\xcf\xff\xff\x01\x80\xde\x80\xde\xaa\x3d"[..],
        ] {
            let _ = decode_consumer_state(input);
        }
    }
}
