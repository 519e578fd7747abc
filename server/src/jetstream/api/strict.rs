//! Strict decoding of API requests (`jetstream { strict: true }`, Go's default): a request
//! with a field its type does not have is refused as invalid JSON, as Go's decoder with
//! `DisallowUnknownFields` does.
//!
//! The check is a second, read-only pass over the parsed request: the request type's own
//! `Deserialize` drives a deserializer over the JSON value, and each struct it asks for
//! names its fields, so a key outside them is an unknown field. The value of that pass
//! is thrown away; the request is decoded as before.

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess};
use serde::de::{value::BorrowedStrDeserializer, Visitor};
use serde_json::{Error, Value};
use std::cell::RefCell;

/// A request type of the API: how strict mode finds a field it does not know.
pub trait ApiRequest: DeserializeOwned + Default {
    /// The first key of `value` (in document order, outermost first) that no struct of
    /// the request has.
    fn unknown_field(value: &Value) -> Option<String> {
        unknown_field::<Self>(value)
    }
}

/// The first key of `value` that `T` has no field for (compared as Go does, ignoring
/// ASCII case). Structs flattened into another are not seen through: such a type
/// checks its parts itself (see `StreamConfigRequest`).
pub fn unknown_field<T: DeserializeOwned>(value: &Value) -> Option<String> {
    let unknown = RefCell::new(None);
    // Errors of this pass do not matter: the real decode reports them.
    let _ = T::deserialize(Checker {
        value,
        unknown: &unknown,
    });
    unknown.into_inner()
}

use super::types::{
    CreateConsumerRequest, MsgDeleteRequest, MsgGetRequest, StreamConfig, StreamConfigRequest,
    StreamInfoRequest, StreamListRequest, StreamPurgeRequest,
};

impl ApiRequest for CreateConsumerRequest {}
impl ApiRequest for MsgDeleteRequest {}
impl ApiRequest for MsgGetRequest {}
impl ApiRequest for StreamInfoRequest {}
impl ApiRequest for StreamListRequest {}
impl ApiRequest for StreamPurgeRequest {}

impl ApiRequest for StreamConfigRequest {
    /// The configuration is flattened into the request next to `pedantic`.
    fn unknown_field(value: &Value) -> Option<String> {
        let Value::Object(map) = value else {
            return None;
        };
        let mut config = map.clone();
        config.retain(|k, _| !k.eq_ignore_ascii_case("pedantic"));
        unknown_field::<StreamConfig>(&Value::Object(config))
    }
}

/// The deserializer of the check: a JSON value and where to note the first unknown key.
struct Checker<'a, 'r> {
    value: &'a Value,
    unknown: &'r RefCell<Option<String>>,
}

impl<'a, 'r> Checker<'a, 'r> {
    fn child(&self, value: &'a Value) -> Checker<'a, 'r> {
        Checker {
            value,
            unknown: self.unknown,
        }
    }

    fn note_unknown(&self, fields: &[&str]) {
        let Value::Object(map) = self.value else {
            return;
        };
        let mut unknown = self.unknown.borrow_mut();
        if unknown.is_some() {
            return;
        }
        if let Some(k) = map
            .keys()
            .find(|k| !fields.iter().any(|f| f.eq_ignore_ascii_case(k)))
        {
            *unknown = Some(k.clone());
        }
    }
}

/// Scalars are read as the decode reads them.
macro_rules! forward_to_value {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
            self.value.$method(visitor)
        }
    )*};
}

impl<'a> Deserializer<'a> for Checker<'a, '_> {
    type Error = Error;

    forward_to_value! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32
        deserialize_f64 deserialize_char deserialize_str deserialize_string deserialize_bytes
        deserialize_byte_buf deserialize_unit deserialize_identifier
    }

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(items) => visitor.visit_seq(Seq {
                items: items.iter(),
                parent: self,
            }),
            Value::Object(map) => visitor.visit_map(Map {
                entries: map.iter(),
                pending: None,
                parent: self,
            }),
            v => v.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.value.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.note_unknown(fields);
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.value.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

struct Seq<'a, 'r> {
    items: std::slice::Iter<'a, Value>,
    parent: Checker<'a, 'r>,
}

impl<'a> SeqAccess<'a> for Seq<'a, '_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'a>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        match self.items.next() {
            Some(v) => seed.deserialize(self.parent.child(v)).map(Some),
            None => Ok(None),
        }
    }
}

struct Map<'a, 'r> {
    entries: serde_json::map::Iter<'a>,
    pending: Option<&'a Value>,
    parent: Checker<'a, 'r>,
}

impl<'a> MapAccess<'a> for Map<'a, '_> {
    type Error = Error;

    fn next_key_seed<S: DeserializeSeed<'a>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        match self.entries.next() {
            Some((k, v)) => {
                self.pending = Some(v);
                seed.deserialize(BorrowedStrDeserializer::<Error>::new(k))
                    .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'a>>(&mut self, seed: S) -> Result<S::Value, Error> {
        match self.pending.take() {
            Some(v) => seed.deserialize(self.parent.child(v)),
            None => Err(de::Error::custom("value without a key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn unknown<T: ApiRequest>(v: Value) -> Option<String> {
        T::unknown_field(&v)
    }

    #[test]
    fn known_fields_pass_and_the_first_unknown_is_named() {
        assert_eq!(
            unknown::<StreamListRequest>(json!({"offset": 1, "subject": "a"})),
            None
        );
        assert_eq!(
            unknown::<StreamListRequest>(json!({"offset": 1, "extra_field": "x"})),
            Some("extra_field".to_string())
        );
        assert_eq!(unknown::<StreamListRequest>(json!({})), None);
    }

    #[test]
    fn keys_match_fields_ignoring_case_as_in_go() {
        assert_eq!(unknown::<StreamListRequest>(json!({"OFFSET": 1})), None);
    }

    #[test]
    fn nested_structs_are_checked() {
        let ok =
            json!({"stream_name": "S", "config": {"durable_name": "D", "ack_policy": "explicit"}});
        assert_eq!(unknown::<CreateConsumerRequest>(ok), None);
        let bad = json!({"stream_name": "S", "config": {"durable_name": "D", "bogus": 1}});
        assert_eq!(unknown::<CreateConsumerRequest>(bad), Some("bogus".into()));
    }

    #[test]
    fn a_stream_config_request_checks_the_flattened_config() {
        let ok = json!({"name": "S", "subjects": ["a"], "pedantic": true, "max_age": 1});
        assert_eq!(unknown::<StreamConfigRequest>(ok), None);
        let bad = json!({"name": "S", "subjects": ["a"], "extra_field": "unexpected"});
        assert_eq!(
            unknown::<StreamConfigRequest>(bad),
            Some("extra_field".into())
        );
        let nested = json!({"name": "S", "placement": {"cluster": "C", "zone": 1}});
        assert_eq!(unknown::<StreamConfigRequest>(nested), Some("zone".into()));
    }

    #[test]
    fn maps_of_names_take_any_key() {
        let ok = json!({"name": "S", "metadata": {"anything": "goes"}});
        assert_eq!(unknown::<StreamConfigRequest>(ok), None);
    }

    /// Every key Go's types have (v2.14.5), as null: a real client's request must pass.
    fn all_null(keys: &str) -> Value {
        Value::Object(
            keys.split_whitespace()
                .map(|k| (k.to_string(), Value::Null))
                .collect(),
        )
    }

    #[test]
    fn every_field_go_knows_is_known() {
        use super::super::types::*;
        type Check = fn(&Value) -> Option<String>;
        let cases: &[(&str, Check)] = &[
            ("name description subjects retention max_consumers max_msgs max_bytes max_age \
              max_msgs_per_subject max_msg_size discard storage num_replicas no_ack \
              duplicate_window placement mirror sources compression first_seq \
              subject_transform republish allow_direct mirror_direct discard_new_per_subject \
              sealed deny_delete deny_purge allow_rollup_hdrs consumer_limits allow_msg_ttl \
              subject_delete_marker_ttl allow_msg_counter allow_atomic allow_msg_schedules \
              persist_mode allow_batched metadata pedantic",
             StreamConfigRequest::unknown_field),
            ("name opt_start_seq opt_start_time filter_subject subject_transforms external consumer",
             unknown_field::<StreamSource>),
            ("api deliver", unknown_field::<ExternalStream>),
            ("cluster tags preferred", unknown_field::<Placement>),
            ("src dest", unknown_field::<SubjectTransformConfig>),
            ("src dest headers_only", unknown_field::<RePublish>),
            ("inactive_threshold max_ack_pending", unknown_field::<StreamConsumerLimits>),
            ("name deliver_subject", unknown_field::<StreamConsumerSource>),
            ("stream_name config action pedantic", CreateConsumerRequest::unknown_field),
            ("durable_name name description deliver_policy opt_start_seq opt_start_time \
              ack_policy ack_wait max_deliver backoff filter_subject filter_subjects \
              replay_policy rate_limit_bps sample_freq max_waiting max_ack_pending \
              flow_control headers_only max_batch max_expires max_bytes deliver_subject \
              deliver_group idle_heartbeat inactive_threshold num_replicas mem_storage direct \
              sourcing metadata pause_until priority_groups priority_policy priority_timeout",
             unknown_field::<ConsumerConfig>),
            ("offset deleted_details subjects_filter", StreamInfoRequest::unknown_field),
            ("offset subject", StreamListRequest::unknown_field),
            ("seq filter keep", StreamPurgeRequest::unknown_field),
            ("seq no_erase", MsgDeleteRequest::unknown_field),
            ("seq last_by_subj next_by_subj batch max_bytes start_time multi_last up_to_seq \
              up_to_time no_hdr", MsgGetRequest::unknown_field),
            ("messages bytes first_seq first_ts last_seq last_ts num_subjects subjects \
              num_deleted deleted lost consumer_count", unknown_field::<StreamState>),
        ];
        for (keys, check) in cases {
            assert_eq!(check(&all_null(keys)), None, "{keys}");
        }
    }
}
