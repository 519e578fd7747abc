//! JSON types of the JetStream API, as Go encodes them: field names, order, which fields
//! are left out when empty (Go's `omitempty`), enums as lower-case strings, durations as
//! integer nanoseconds and times as RFC 3339 with nanoseconds.
//!
//! Decoding follows Go's `encoding/json` where clients rely on it: unknown fields are
//! ignored, missing fields take their zero value, and `null` reads as empty.

use super::errors::ApiError;
use crate::monitor::gotime::GoTime;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Go's `json:",omitempty"` for the types used here.
pub(crate) fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Reads `null` as the type's empty value, as Go does for slices, maps and strings.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A list whose `null` items decode as zero values (Go leaves a nil pointer there, which
/// its checks then refuse as a zero value would be), and a `null` list as an empty one.
pub(crate) fn null_items_as_default<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    let items = Option::<Vec<Option<T>>>::deserialize(d)?.unwrap_or_default();
    Ok(items.into_iter().map(Option::unwrap_or_default).collect())
}

/// A Go enum marshalled as one of a fixed set of JSON strings.
macro_rules! json_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            #[default]
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The JSON string of this value (without quotes).
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                match text.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(D::Error::custom(format!("can not unmarshal \"\\\"{text}\\\"\""))),
                }
            }
        }
    };
}

json_enum!(
    /// What decides when a stream's messages go (Go's `RetentionPolicy`).
    RetentionPolicy {
        Limits = "limits",
        Interest = "interest",
        WorkQueue = "workqueue",
    }
);

json_enum!(
    /// Where a stream keeps its messages (Go's `StorageType`).
    StorageType {
        File = "file",
        Memory = "memory",
    }
);

json_enum!(
    /// What happens when a stream is full (Go's `DiscardPolicy`).
    DiscardPolicy {
        Old = "old",
        New = "new",
    }
);

json_enum!(
    /// Compression of a file stream's blocks.
    StoreCompression {
        None = "none",
        S2 = "s2",
    }
);

json_enum!(
    /// Whether a publish is acknowledged after its write is on disk (Go's `PersistModeType`).
    PersistMode {
        Default = "default",
        Async = "async",
    }
);

json_enum!(
    /// How a consumer's messages are acknowledged.
    AckPolicy {
        None = "none",
        All = "all",
        Explicit = "explicit",
        FlowControl = "flow_control",
    }
);

json_enum!(
    /// Where a consumer starts.
    DeliverPolicy {
        All = "all",
        Last = "last",
        New = "new",
        ByStartSequence = "by_start_sequence",
        ByStartTime = "by_start_time",
        LastPerSubject = "last_per_subject",
    }
);

json_enum!(
    /// How fast a consumer replays.
    ReplayPolicy {
        Instant = "instant",
        Original = "original",
    }
);

json_enum!(
    /// How pull requests of a consumer's priority groups are served.
    PriorityPolicy {
        None = "none",
        Overflow = "overflow",
        PinnedClient = "pinned_client",
        Prioritized = "prioritized",
    }
);

impl From<StorageType> for natsd_store::StorageType {
    fn from(s: StorageType) -> Self {
        match s {
            StorageType::File => natsd_store::StorageType::File,
            StorageType::Memory => natsd_store::StorageType::Memory,
        }
    }
}

/// Go's `SubjectTransformConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubjectTransformConfig {
    #[serde(rename = "src", default, deserialize_with = "null_as_default")]
    pub source: String,
    #[serde(rename = "dest", default, deserialize_with = "null_as_default")]
    pub destination: String,
}

/// Go's `RePublish`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RePublish {
    #[serde(
        rename = "src",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub source: String,
    #[serde(rename = "dest", default, deserialize_with = "null_as_default")]
    pub destination: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub headers_only: bool,
}

/// Go's `Placement`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Placement {
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub cluster: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub tags: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub preferred: String,
}

/// Go's `ExternalStream`: a stream in another account or domain.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExternalStream {
    #[serde(rename = "api", default, deserialize_with = "null_as_default")]
    pub api_prefix: String,
    #[serde(rename = "deliver", default, deserialize_with = "null_as_default")]
    pub deliver_prefix: String,
}

/// Go's `StreamConsumerSource`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamConsumerSource {
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub name: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub deliver_subject: String,
}

/// Go's `StreamSource`: where a mirror or source reads from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamSource {
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub opt_start_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<GoTime>,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub filter_subject: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub subject_transforms: Vec<SubjectTransformConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalStream>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<StreamConsumerSource>,
}

/// Go's `StreamConsumerLimits`: defaults for the stream's consumers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamConsumerLimits {
    /// Nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inactive_threshold: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_ack_pending: i64,
}

/// Go's `StreamConfig`, field for field. Durations are nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamConfig {
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub description: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub subjects: Vec<String>,
    #[serde(default)]
    pub retention: RetentionPolicy,
    #[serde(default)]
    pub max_consumers: i64,
    #[serde(default)]
    pub max_msgs: i64,
    #[serde(default)]
    pub max_bytes: i64,
    #[serde(default)]
    pub max_age: i64,
    #[serde(rename = "max_msgs_per_subject", default)]
    pub max_msgs_per: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_msg_size: i32,
    #[serde(default)]
    pub discard: DiscardPolicy,
    #[serde(default)]
    pub storage: StorageType,
    #[serde(rename = "num_replicas", default)]
    pub replicas: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub no_ack: bool,
    #[serde(rename = "duplicate_window", default, skip_serializing_if = "is_zero")]
    pub duplicates: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StreamSource>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_items_as_default"
    )]
    pub sources: Vec<StreamSource>,
    #[serde(default)]
    pub compression: StoreCompression,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub first_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_transform: Option<SubjectTransformConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub republish: Option<RePublish>,
    #[serde(default)]
    pub allow_direct: bool,
    #[serde(default)]
    pub mirror_direct: bool,
    #[serde(
        rename = "discard_new_per_subject",
        default,
        skip_serializing_if = "is_zero"
    )]
    pub discard_new_per: bool,
    #[serde(default)]
    pub sealed: bool,
    #[serde(default)]
    pub deny_delete: bool,
    #[serde(default)]
    pub deny_purge: bool,
    #[serde(rename = "allow_rollup_hdrs", default)]
    pub allow_rollup: bool,
    #[serde(default)]
    pub consumer_limits: StreamConsumerLimits,
    #[serde(default)]
    pub allow_msg_ttl: bool,
    /// Nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub subject_delete_marker_ttl: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub allow_msg_counter: bool,
    #[serde(rename = "allow_atomic", default, skip_serializing_if = "is_zero")]
    pub allow_atomic_publish: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub allow_msg_schedules: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub persist_mode: PersistMode,
    #[serde(rename = "allow_batched", default, skip_serializing_if = "is_zero")]
    pub allow_batch_publish: bool,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub metadata: BTreeMap<String, String>,
}

/// A stream create or update request: the configuration plus `pedantic`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamConfigRequest {
    #[serde(flatten)]
    pub config: StreamConfig,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pedantic: bool,
}

/// Go's `LostStreamData`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LostStreamData {
    #[serde(default, deserialize_with = "null_as_default")]
    pub msgs: Vec<u64>,
    #[serde(default)]
    pub bytes: u64,
}

/// Go's `StreamState` as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamState {
    #[serde(rename = "messages", default)]
    pub msgs: u64,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub first_seq: u64,
    #[serde(rename = "first_ts", default)]
    pub first_time: GoTime,
    #[serde(default)]
    pub last_seq: u64,
    #[serde(rename = "last_ts", default)]
    pub last_time: GoTime,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_subjects: u64,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub subjects: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_deleted: u64,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub deleted: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<LostStreamData>,
    #[serde(rename = "consumer_count", default)]
    pub consumers: u64,
}

/// A store time (ns since the epoch, 0 when unset) as Go's `time.Time`.
pub fn store_time(ns: i64) -> GoTime {
    if ns == 0 {
        GoTime::ZERO
    } else {
        GoTime::from_unix_nanos(ns)
    }
}

impl From<&natsd_store::StreamState> for StreamState {
    fn from(s: &natsd_store::StreamState) -> Self {
        StreamState {
            msgs: s.msgs,
            bytes: s.bytes,
            first_seq: s.first_seq,
            first_time: store_time(s.first_time),
            last_seq: s.last_seq,
            last_time: store_time(s.last_time),
            num_subjects: s.num_subjects as u64,
            subjects: BTreeMap::new(),
            num_deleted: s.num_deleted as u64,
            deleted: s.deleted.clone(),
            lost: s.lost.as_ref().map(|l| LostStreamData {
                msgs: l.msgs.clone(),
                bytes: l.bytes,
            }),
            consumers: s.consumers as u64,
        }
    }
}

/// Go's `PeerInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PeerInfo {
    pub name: String,
    pub current: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offline: bool,
    /// Nanoseconds.
    pub active: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lag: u64,
    pub peer: String,
}

/// Go's `ClusterInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClusterInfo {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub raft_group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub leader: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_since: Option<GoTime>,
    #[serde(rename = "system_account", default, skip_serializing_if = "is_zero")]
    pub system_acc: bool,
    #[serde(
        rename = "traffic_account",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub traffic_acc: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<PeerInfo>,
}

/// Go's `StreamSourceInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamSourceInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalStream>,
    pub lag: u64,
    /// Nanoseconds.
    pub active: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filter_subject: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_transforms: Vec<SubjectTransformConfig>,
}

/// Go's `StreamAlternate`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamAlternate {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    pub cluster: String,
}

/// Go's `StreamInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamInfo {
    pub config: StreamConfig,
    pub created: GoTime,
    pub state: StreamState,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StreamSourceInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<StreamSourceInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternates: Vec<StreamAlternate>,
    #[serde(rename = "ts")]
    pub timestamp: GoTime,
}

/// Go's `PubAck`: the answer to a publish into a stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PubAck {
    pub stream: String,
    #[serde(rename = "seq")]
    pub sequence: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicate: bool,
    #[serde(rename = "val", default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(rename = "batch", default, skip_serializing_if = "String::is_empty")]
    pub batch_id: String,
    #[serde(rename = "count", default, skip_serializing_if = "is_zero")]
    pub batch_size: u64,
}

/// Go's `JSPubAckResponse`: an error or a [`PubAck`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PubAckResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<PubAck>,
}

/// Bytes as Go marshals `[]byte`: standard base64.
mod base64_bytes {
    use base64::Engine as _;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bytes::Bytes, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(bytes::Bytes::from)
            .map_err(D::Error::custom)
    }
}

/// Go's `StoredMsg`: a message as `STREAM.MSG.GET` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoredMsg {
    pub subject: String,
    #[serde(rename = "seq")]
    pub sequence: u64,
    #[serde(
        rename = "hdrs",
        default,
        skip_serializing_if = "bytes::Bytes::is_empty",
        with = "base64_bytes"
    )]
    pub header: bytes::Bytes,
    #[serde(
        default,
        skip_serializing_if = "bytes::Bytes::is_empty",
        with = "base64_bytes"
    )]
    pub data: bytes::Bytes,
    pub time: GoTime,
}

/// Go's `ApiPaged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ApiPaged {
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
}

/// Go's `ApiPagedRequest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ApiPagedRequest {
    #[serde(default)]
    pub offset: usize,
}

/// Go's `JSApiStreamInfoRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamInfoRequest {
    #[serde(default)]
    pub offset: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deleted_details: bool,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub subjects_filter: String,
}

/// Go's `JSApiStreamNamesRequest` and `JSApiStreamListRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamListRequest {
    #[serde(default)]
    pub offset: usize,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub subject: String,
}

/// Go's `JSApiStreamPurgeRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamPurgeRequest {
    #[serde(rename = "seq", default, skip_serializing_if = "is_zero")]
    pub sequence: u64,
    #[serde(
        rename = "filter",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub subject: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keep: u64,
}

/// Go's `JSApiMsgDeleteRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MsgDeleteRequest {
    #[serde(default)]
    pub seq: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub no_erase: bool,
}

/// Go's `JSApiMsgGetRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MsgGetRequest {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seq: u64,
    #[serde(
        rename = "last_by_subj",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub last_for: String,
    #[serde(
        rename = "next_by_subj",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub next_for: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub batch: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_bytes: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<GoTime>,
    #[serde(
        rename = "multi_last",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub multi_last_for: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub up_to_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to_time: Option<GoTime>,
    #[serde(rename = "no_hdr", default, skip_serializing_if = "is_zero")]
    pub no_headers: bool,
}

/// Go's `JetStreamAccountLimits` (kept with the configuration that sets them).
pub use crate::config::jetstream::JetStreamAccountLimits;

/// Go's `JetStreamTier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JetStreamTier {
    pub memory: u64,
    #[serde(rename = "storage")]
    pub store: u64,
    pub reserved_memory: u64,
    #[serde(rename = "reserved_storage")]
    pub reserved_store: u64,
    pub streams: u64,
    pub consumers: u64,
    pub limits: JetStreamAccountLimits,
}

/// Go's `JetStreamAPIStats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JetStreamApiStats {
    pub level: i64,
    pub total: u64,
    pub errors: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inflight: u64,
}

/// Go's `JetStreamAccountStats`: `$JS.API.INFO`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JetStreamAccountStats {
    #[serde(flatten)]
    pub tier: JetStreamTier,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    pub api: JetStreamApiStats,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tiers: BTreeMap<String, JetStreamTier>,
}

/// Go's `StreamConsumerLimits`-free `ConsumerConfig`, field for field. Durations are
/// nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerConfig {
    #[serde(
        rename = "durable_name",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub durable: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub name: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub description: String,
    #[serde(default)]
    pub deliver_policy: DeliverPolicy,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub opt_start_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<GoTime>,
    #[serde(default)]
    pub ack_policy: AckPolicy,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ack_wait: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_deliver: i64,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub backoff: Vec<i64>,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub filter_subject: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub filter_subjects: Vec<String>,
    #[serde(default)]
    pub replay_policy: ReplayPolicy,
    #[serde(rename = "rate_limit_bps", default, skip_serializing_if = "is_zero")]
    pub rate_limit: u64,
    #[serde(
        rename = "sample_freq",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub sample_frequency: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_waiting: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_ack_pending: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flow_control: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub headers_only: bool,
    #[serde(rename = "max_batch", default, skip_serializing_if = "is_zero")]
    pub max_request_batch: i64,
    #[serde(rename = "max_expires", default, skip_serializing_if = "is_zero")]
    pub max_request_expires: i64,
    #[serde(rename = "max_bytes", default, skip_serializing_if = "is_zero")]
    pub max_request_max_bytes: i64,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub deliver_subject: String,
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub deliver_group: String,
    #[serde(rename = "idle_heartbeat", default, skip_serializing_if = "is_zero")]
    pub heartbeat: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inactive_threshold: i64,
    #[serde(rename = "num_replicas", default)]
    pub replicas: i64,
    #[serde(rename = "mem_storage", default, skip_serializing_if = "is_zero")]
    pub memory_storage: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub direct: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sourcing: bool,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_until: Option<GoTime>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub priority_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority_policy: PriorityPolicy,
    #[serde(rename = "priority_timeout", default, skip_serializing_if = "is_zero")]
    pub pinned_ttl: i64,
}

/// Go's `SequenceInfo`: a consumer and a stream sequence, with the last activity.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SequenceInfo {
    #[serde(rename = "consumer_seq", default)]
    pub consumer: u64,
    #[serde(rename = "stream_seq", default)]
    pub stream: u64,
    #[serde(
        rename = "last_active",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last: Option<GoTime>,
}

/// Go's `ConsumerInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerInfo {
    #[serde(rename = "stream_name")]
    pub stream: String,
    pub name: String,
    pub created: GoTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConsumerConfig>,
    pub delivered: SequenceInfo,
    pub ack_floor: SequenceInfo,
    pub num_ack_pending: u64,
    pub num_redelivered: u64,
    pub num_waiting: u64,
    pub num_pending: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub push_bound: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub paused: bool,
    /// Nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pause_remaining: i64,
    #[serde(rename = "ts")]
    pub timestamp: GoTime,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority_groups: Vec<PriorityGroupState>,
}

/// Go's `PriorityGroupState`: a priority group of a consumer and who holds its pin.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PriorityGroupState {
    pub group: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pinned_client_id: String,
    /// Go's zero time when nobody is pinned (`omitempty` keeps a zero struct).
    #[serde(default)]
    pub pinned_ts: GoTime,
}

json_enum!(
    /// Go's `ConsumerAction` of a create request (`""` creates or updates).
    ConsumerAction {
        CreateOrUpdate = "",
        Update = "update",
        Create = "create",
    }
);

/// Go's `CreateConsumerRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateConsumerRequest {
    #[serde(rename = "stream_name", default)]
    pub stream: String,
    #[serde(default)]
    pub config: ConsumerConfig,
    #[serde(default)]
    pub action: ConsumerAction,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pedantic: bool,
}

/// Go's `JSApiConsumerGetNextRequest`: a pull request. Durations are nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NextRequest {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub expires: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub batch: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_bytes: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub no_wait: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub idle_heartbeat: i64,
}

/// A response of the JetStream API: Go's `ApiResponse` (`type`, `error`) with the
/// verb's own fields after it.
#[derive(Debug, Clone, Serialize)]
pub struct ApiResponse<T: Serialize> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub body: Option<T>,
}

impl<T: Serialize> ApiResponse<T> {
    pub fn ok(kind: &'static str, body: T) -> Self {
        ApiResponse {
            kind,
            error: None,
            body: Some(body),
        }
    }

    pub fn err(kind: &'static str, error: ApiError) -> Self {
        ApiResponse {
            kind,
            error: Some(error),
            body: None,
        }
    }

    /// The JSON text; a value that cannot be encoded (never for these types) yields the
    /// bare envelope.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!("{{\"type\":\"{}\"}}", self.kind))
    }
}

/// Response type names (the `type` field).
pub mod response_type {
    pub const ACCOUNT_INFO: &str = "io.nats.jetstream.api.v1.account_info_response";
    pub const STREAM_CREATE: &str = "io.nats.jetstream.api.v1.stream_create_response";
    pub const STREAM_UPDATE: &str = "io.nats.jetstream.api.v1.stream_update_response";
    pub const STREAM_DELETE: &str = "io.nats.jetstream.api.v1.stream_delete_response";
    pub const STREAM_INFO: &str = "io.nats.jetstream.api.v1.stream_info_response";
    pub const STREAM_NAMES: &str = "io.nats.jetstream.api.v1.stream_names_response";
    pub const STREAM_LIST: &str = "io.nats.jetstream.api.v1.stream_list_response";
    pub const STREAM_PURGE: &str = "io.nats.jetstream.api.v1.stream_purge_response";
    pub const STREAM_MSG_DELETE: &str = "io.nats.jetstream.api.v1.stream_msg_delete_response";
    pub const STREAM_MSG_GET: &str = "io.nats.jetstream.api.v1.stream_msg_get_response";
    pub const SYSTEM: &str = "io.nats.jetstream.api.v1.system_response";
    pub const CONSUMER_CREATE: &str = "io.nats.jetstream.api.v1.consumer_create_response";
    pub const CONSUMER_DELETE: &str = "io.nats.jetstream.api.v1.consumer_delete_response";
    pub const CONSUMER_INFO: &str = "io.nats.jetstream.api.v1.consumer_info_response";
    pub const CONSUMER_NAMES: &str = "io.nats.jetstream.api.v1.consumer_names_response";
    pub const CONSUMER_LIST: &str = "io.nats.jetstream.api.v1.consumer_list_response";
    pub const CONSUMER_PAUSE: &str = "io.nats.jetstream.api.v1.consumer_pause_response";
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stream_config_json_matches_go_field_order_and_omissions() {
        let cfg = StreamConfig {
            name: "TEST".into(),
            subjects: vec!["foo".into()],
            max_consumers: -1,
            max_msgs: -1,
            max_bytes: -1,
            max_msgs_per: -1,
            replicas: 1,
            duplicates: 120_000_000_000,
            ..Default::default()
        };
        // What Go's json.Marshal gives for the same config.
        let go = r#"{"name":"TEST","subjects":["foo"],"retention":"limits","max_consumers":-1,"max_msgs":-1,"max_bytes":-1,"max_age":0,"max_msgs_per_subject":-1,"discard":"old","storage":"file","num_replicas":1,"duplicate_window":120000000000,"compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false}"#;
        assert_eq!(serde_json::to_string(&cfg).unwrap(), go);
        let back: StreamConfig = serde_json::from_str(go).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn decoding_ignores_unknown_fields_and_reads_null_as_empty() {
        let cfg: StreamConfig = serde_json::from_str(
            r#"{"name":"X","subjects":null,"metadata":null,"whatever":{"a":1},"storage":"memory"}"#,
        )
        .unwrap();
        assert_eq!(cfg.name, "X");
        assert!(cfg.subjects.is_empty());
        assert_eq!(cfg.storage, StorageType::Memory);
    }

    #[test]
    fn bad_enum_text_is_refused() {
        assert!(serde_json::from_str::<StreamConfig>(r#"{"retention":"forever"}"#).is_err());
    }

    #[test]
    fn pub_ack_and_error_envelopes() {
        let ack = PubAckResponse {
            error: None,
            ack: Some(PubAck {
                stream: "S".into(),
                sequence: 2,
                ..Default::default()
            }),
        };
        assert_eq!(
            serde_json::to_string(&ack).unwrap(),
            r#"{"stream":"S","seq":2}"#
        );
        let resp: ApiResponse<StreamInfo> = ApiResponse::err(
            response_type::STREAM_INFO,
            super::super::errors::STREAM_NOT_FOUND.new(),
        );
        assert_eq!(
            resp.to_json(),
            r#"{"type":"io.nats.jetstream.api.v1.stream_info_response","error":{"code":404,"err_code":10059,"description":"stream not found"}}"#
        );
    }

    #[test]
    fn stored_msg_bytes_are_base64() {
        let m = StoredMsg {
            subject: "a".into(),
            sequence: 1,
            header: bytes::Bytes::new(),
            data: bytes::Bytes::from_static(b"hi"),
            time: GoTime::from_unix_nanos(1_500_000_000),
        };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"subject":"a","seq":1,"data":"aGk=","time":"1970-01-01T00:00:01.5Z"}"#
        );
        assert_eq!(serde_json::from_str::<StoredMsg>(&json).unwrap(), m);
    }
}
