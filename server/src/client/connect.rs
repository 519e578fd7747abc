//! The JSON a client sends with CONNECT.

use serde::Deserialize;

/// Lowest and highest client protocol versions accepted in CONNECT.
pub const CLIENT_PROTO_ZERO: i32 = 0;
pub const CLIENT_PROTO_INFO: i32 = 1;

/// Fields of CONNECT that natsd reads; unknown fields are ignored, as in Go.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ConnectInfo {
    pub echo: bool,
    pub verbose: bool,
    pub pedantic: bool,
    pub tls_required: bool,
    pub nkey: String,
    pub jwt: String,
    pub sig: String,
    pub auth_token: String,
    pub user: String,
    pub pass: String,
    pub name: String,
    pub lang: String,
    pub version: String,
    pub protocol: i32,
    pub account: String,
    pub new_account: bool,
    pub headers: bool,
    pub no_responders: bool,
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
