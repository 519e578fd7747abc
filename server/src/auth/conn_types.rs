//! `allowed_connection_types`: which kinds of connection a user may come over. The names
//! are Go's (the JWT library's constants); a server validates them at start and keeps
//! them in upper case.

use std::collections::BTreeSet;

pub const STANDARD: &str = "STANDARD";
pub const WEBSOCKET: &str = "WEBSOCKET";
pub const LEAFNODE: &str = "LEAFNODE";
pub const LEAFNODE_WS: &str = "LEAFNODE_WS";
pub const MQTT: &str = "MQTT";
pub const MQTT_WS: &str = "MQTT_WS";
pub const IN_PROCESS: &str = "IN_PROCESS";

/// Every connection type the server knows.
pub const ALL: [&str; 7] = [
    STANDARD,
    WEBSOCKET,
    LEAFNODE,
    LEAFNODE_WS,
    MQTT,
    MQTT_WS,
    IN_PROCESS,
];

fn is_known(upper: &str) -> bool {
    ALL.contains(&upper)
}

/// How a client reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionType {
    /// A client connection over the client listener (TCP, with or without TLS).
    #[default]
    Standard,
    /// A client connection handed over inside the process (no socket).
    InProcess,
}

impl ConnectionType {
    /// The name `allowed_connection_types` uses for it.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionType::Standard => STANDARD,
            ConnectionType::InProcess => IN_PROCESS,
        }
    }
}

/// Whether a user allowed `allowed` may connect over `ct`; an empty set allows all.
pub fn allowed(allowed: &BTreeSet<String>, ct: ConnectionType) -> bool {
    allowed.is_empty() || allowed.contains(ct.name())
}

/// Converts configured names (any case) into the set a user keeps (Go's
/// `convertAllowedConnectionTypes`): the known ones in upper case, and an error naming
/// the unknown ones, in Go's `%q` form of a string list.
pub fn convert(names: &[String]) -> (BTreeSet<String>, Result<(), String>) {
    let mut set = BTreeSet::new();
    let mut unknown = Vec::new();
    for n in names {
        let upper = n.to_uppercase();
        if is_known(&upper) {
            set.insert(upper);
        } else {
            unknown.push(crate::config::cli::go_quote(&upper));
        }
    }
    if unknown.is_empty() {
        (set, Ok(()))
    } else {
        (
            set,
            Err(format!("invalid connection types [{}]", unknown.join(" "))),
        )
    }
}

/// Checks a user's set at server start (Go's `validateAllowedConnectionTypes`) and puts
/// every name in upper case.
pub fn validate_and_normalize(set: &mut BTreeSet<String>) -> Result<(), String> {
    if let Some(bad) = set.iter().find(|n| !is_known(&n.to_uppercase())) {
        return Err(format!(
            "unknown connection type {}",
            crate::config::cli::go_quote(bad)
        ));
    }
    *set = set.iter().map(|n| n.to_uppercase()).collect();
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn empty_allows_everything() {
        assert!(allowed(&set(&[]), ConnectionType::Standard));
        assert!(allowed(&set(&[]), ConnectionType::InProcess));
    }

    #[test]
    fn only_listed_types_are_allowed() {
        let s = set(&[WEBSOCKET]);
        assert!(!allowed(&s, ConnectionType::Standard));
        assert!(!allowed(&s, ConnectionType::InProcess));
        let s = set(&[IN_PROCESS]);
        assert!(allowed(&s, ConnectionType::InProcess));
        assert!(!allowed(&s, ConnectionType::Standard));
    }

    #[test]
    fn convert_upper_cases_and_names_unknown_types() {
        let (s, r) = convert(&["websocket".into(), "Standard".into()]);
        assert_eq!(s, set(&[STANDARD, WEBSOCKET]));
        assert_eq!(r, Ok(()));
        let (s, r) = convert(&["mqtt".into(), "unknown".into(), "x".into()]);
        assert_eq!(s, set(&[MQTT]));
        assert_eq!(r, Err(r#"invalid connection types ["UNKNOWN" "X"]"#.into()));
    }

    #[test]
    fn validate_normalizes_and_refuses_unknown() {
        let mut s = set(&["websocket", "IN_PROCESS"]);
        assert_eq!(validate_and_normalize(&mut s), Ok(()));
        assert_eq!(s, set(&[IN_PROCESS, WEBSOCKET]));
        let mut s = set(&[STANDARD, "someNewType"]);
        assert_eq!(
            validate_and_normalize(&mut s),
            Err(r#"unknown connection type "someNewType""#.into())
        );
    }
}
