//! The JSON a client sends with CONNECT.

use serde::{Deserialize, Deserializer};

/// Lowest and highest client protocol versions accepted in CONNECT.
pub const CLIENT_PROTO_ZERO: i32 = 0;
pub const CLIENT_PROTO_INFO: i32 = 1;

/// Fields of CONNECT that natsd reads; unknown fields are ignored, as in Go.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ConnectInfo {
    #[serde(deserialize_with = "null_as_true")]
    pub echo: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub verbose: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub pedantic: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub tls_required: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub nkey: String,
    #[serde(deserialize_with = "null_as_default")]
    pub jwt: String,
    #[serde(deserialize_with = "null_as_default")]
    pub sig: String,
    #[serde(deserialize_with = "null_as_default")]
    pub auth_token: String,
    #[serde(deserialize_with = "null_as_default")]
    pub user: String,
    #[serde(deserialize_with = "null_as_default")]
    pub pass: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub lang: String,
    #[serde(deserialize_with = "null_as_default")]
    pub version: String,
    #[serde(deserialize_with = "null_as_default")]
    pub protocol: i32,
    #[serde(deserialize_with = "null_as_default")]
    pub account: String,
    #[serde(deserialize_with = "null_as_default")]
    pub new_account: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub headers: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub no_responders: bool,
}

/// Go's JSON decoding leaves a field untouched when the JSON says `null`; clients
/// (async-nats among them) send `null` for options they do not set. Untouched means the
/// zero value, except for `echo`, which Go presets to true.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn null_as_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

impl Default for ConnectInfo {
    fn default() -> Self {
        ConnectInfo {
            // Go sets echo to true before unmarshalling CONNECT.
            echo: true,
            verbose: false,
            pedantic: false,
            tls_required: false,
            nkey: String::new(),
            jwt: String::new(),
            sig: String::new(),
            auth_token: String::new(),
            user: String::new(),
            pass: String::new(),
            name: String::new(),
            lang: String::new(),
            version: String::new(),
            protocol: 0,
            account: String::new(),
            new_account: false,
            headers: false,
            no_responders: false,
        }
    }
}

impl ConnectInfo {
    pub fn parse(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_defaults_to_true() {
        let c = ConnectInfo::parse(br#"{"verbose":true}"#).expect("valid json");
        assert!(c.echo);
        assert!(c.verbose);
        assert!(!c.pedantic);
    }

    #[test]
    fn null_fields_take_their_zero_value() {
        let c = ConnectInfo::parse(br#"{"user":null,"pass":null,"protocol":null,"echo":null}"#)
            .expect("valid json");
        assert_eq!(c.user, "");
        assert_eq!(c.protocol, 0);
        // A null leaves the preset value: echo stays on.
        assert!(c.echo);
    }

    #[test]
    fn reads_client_fields() {
        let c = ConnectInfo::parse(
            br#"{"echo":false,"name":"n","lang":"rust","version":"1.0","protocol":1,"headers":true,"no_responders":true,"extra":5}"#,
        )
        .expect("valid json");
        assert!(!c.echo);
        assert_eq!(c.name, "n");
        assert_eq!(c.protocol, 1);
        assert!(c.headers && c.no_responders);
    }
}
