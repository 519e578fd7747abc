//! The JSON a client sends with CONNECT.

use serde::Deserialize;

/// Lowest and highest client protocol versions accepted in CONNECT.
pub const CLIENT_PROTO_ZERO: i32 = 0;
pub const CLIENT_PROTO_INFO: i32 = 1;

/// Fields of CONNECT that natsd reads; unknown fields are ignored, as in Go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectInfo {
    pub echo: bool,
    pub verbose: bool,
    pub pedantic: bool,
    pub tls_required: bool,
    pub nkey: String,
    pub jwt: String,
    pub sig: String,
    /// A trusted proxy's signature of the nonce (`proxy_sig`).
    pub proxy_sig: String,
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

/// One CONNECT's JSON: a field is `None` when absent or `null`. Go decodes CONNECT into
/// the connection's current options, so such a field keeps its value.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConnectFields {
    echo: Option<bool>,
    verbose: Option<bool>,
    pedantic: Option<bool>,
    tls_required: Option<bool>,
    nkey: Option<String>,
    jwt: Option<String>,
    sig: Option<String>,
    proxy_sig: Option<String>,
    auth_token: Option<String>,
    user: Option<String>,
    pass: Option<String>,
    name: Option<String>,
    lang: Option<String>,
    version: Option<String>,
    protocol: Option<i32>,
    account: Option<String>,
    new_account: Option<bool>,
    headers: Option<bool>,
    no_responders: Option<bool>,
}

/// Go's `defaultOpts`: a connection's options before (and under) its first CONNECT.
impl Default for ConnectInfo {
    fn default() -> Self {
        ConnectInfo {
            echo: true,
            verbose: true,
            pedantic: true,
            tls_required: false,
            nkey: String::new(),
            jwt: String::new(),
            sig: String::new(),
            proxy_sig: String::new(),
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
    /// The options after one CONNECT on a fresh connection.
    pub fn parse(json: &[u8]) -> Result<Self, serde_json::Error> {
        let mut info = ConnectInfo::default();
        info.apply(json)?;
        Ok(info)
    }

    /// Applies a CONNECT on top of these options: fields the JSON leaves out (or sets to
    /// `null`) keep their value, as with Go's `json.Unmarshal` into `c.opts`. On error
    /// nothing changes.
    pub fn apply(&mut self, json: &[u8]) -> Result<(), serde_json::Error> {
        let f: ConnectFields = serde_json::from_slice(json)?;
        fn set<T>(field: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *field = v;
            }
        }
        set(&mut self.echo, f.echo);
        set(&mut self.verbose, f.verbose);
        set(&mut self.pedantic, f.pedantic);
        set(&mut self.tls_required, f.tls_required);
        set(&mut self.nkey, f.nkey);
        set(&mut self.jwt, f.jwt);
        set(&mut self.sig, f.sig);
        set(&mut self.proxy_sig, f.proxy_sig);
        set(&mut self.auth_token, f.auth_token);
        set(&mut self.user, f.user);
        set(&mut self.pass, f.pass);
        set(&mut self.name, f.name);
        set(&mut self.lang, f.lang);
        set(&mut self.version, f.version);
        set(&mut self.protocol, f.protocol);
        set(&mut self.account, f.account);
        set(&mut self.new_account, f.new_account);
        set(&mut self.headers, f.headers);
        set(&mut self.no_responders, f.no_responders);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_defaults_to_true() {
        let c = ConnectInfo::parse(br#"{"verbose":true,"pedantic":false}"#).expect("valid json");
        assert!(c.echo);
        assert!(c.verbose);
        assert!(!c.pedantic);
    }

    #[test]
    fn null_fields_keep_their_value() {
        let c = ConnectInfo::parse(
            br#"{"user":null,"pass":null,"protocol":null,"echo":null,"verbose":null}"#,
        )
        .expect("valid json");
        assert_eq!(c.user, "");
        assert_eq!(c.protocol, 0);
        // A null leaves the preset value: echo and verbose stay on.
        assert!(c.echo);
        assert!(c.verbose);
    }

    #[test]
    fn defaults_are_gos_default_opts() {
        let c = ConnectInfo::parse(b"{}").expect("valid json");
        assert!(c.echo && c.verbose && c.pedantic);
        assert!(!c.headers && !c.no_responders && !c.tls_required);
    }

    #[test]
    fn a_later_connect_applies_on_top() {
        let mut c = ConnectInfo::parse(br#"{"verbose":false,"user":"derek","name":"a"}"#)
            .expect("valid json");
        c.apply(br#"{"echo":false,"name":"b"}"#)
            .expect("valid json");
        assert!(!c.verbose, "an absent field keeps its value");
        assert!(!c.echo);
        assert_eq!(c.user, "derek");
        assert_eq!(c.name, "b");
        // A bad CONNECT changes nothing.
        assert!(c.apply(br#"{"verbose":"yes"}"#).is_err());
        assert_eq!(c.name, "b");
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
