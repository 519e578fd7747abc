//! Why a connection was closed, with the texts nats-server reports (monitoring, logs).

use std::fmt;

/// Mirrors Go's `ClosedState`; the `Display` text is what `/connz` and the logs show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClosedState {
    ClientClosed,
    AuthenticationTimeout,
    AuthenticationViolation,
    TlsHandshakeError,
    SlowConsumerPendingBytes,
    SlowConsumerWriteDeadline,
    WriteError,
    ReadError,
    ParseError,
    StaleConnection,
    ProtocolViolation,
    BadClientProtocolVersion,
    WrongPort,
    MaxConnectionsExceeded,
    MaxAccountConnectionsExceeded,
    MaxPayloadExceeded,
    MaxControlLineExceeded,
    MaxSubscriptionsExceeded,
    DuplicateRoute,
    RouteRemoved,
    ServerShutdown,
    AuthenticationExpired,
    WrongGateway,
    MissingAccount,
    Revocation,
    InternalClient,
    MsgHeaderViolation,
    NoRespondersRequiresHeaders,
    ClusterNameConflict,
    DuplicateRemoteLeafnodeConnection,
    DuplicateClientId,
    DuplicateServerName,
    MinimumVersionRequired,
    ClusterNamesIdentical,
    Kicked,
    ProxyNotTrusted,
    ProxyRequired,
}

impl ClosedState {
    pub fn as_str(self) -> &'static str {
        use ClosedState::*;
        match self {
            ClientClosed => "Client Closed",
            AuthenticationTimeout => "Authentication Timeout",
            AuthenticationViolation => "Authentication Failure",
            TlsHandshakeError => "TLS Handshake Failure",
            SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
            SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            WriteError => "Write Error",
            ReadError => "Read Error",
            ParseError => "Parse Error",
            StaleConnection => "Stale Connection",
            ProtocolViolation => "Protocol Violation",
            BadClientProtocolVersion => "Bad Client Protocol Version",
            WrongPort => "Incorrect Port",
            MaxConnectionsExceeded => "Maximum Connections Exceeded",
            MaxAccountConnectionsExceeded => "Maximum Account Connections Exceeded",
            MaxPayloadExceeded => "Maximum Message Payload Exceeded",
            MaxControlLineExceeded => "Maximum Control Line Exceeded",
            MaxSubscriptionsExceeded => "Maximum Subscriptions Exceeded",
            DuplicateRoute => "Duplicate Route",
            RouteRemoved => "Route Removed",
            ServerShutdown => "Server Shutdown",
            AuthenticationExpired => "Authentication Expired",
            WrongGateway => "Wrong Gateway",
            MissingAccount => "Missing Account",
            Revocation => "Credentials Revoked",
            InternalClient => "Internal Client",
            MsgHeaderViolation => "Message Header Violation",
            NoRespondersRequiresHeaders => "No Responders Requires Headers",
            ClusterNameConflict => "Cluster Name Conflict",
            DuplicateRemoteLeafnodeConnection => "Duplicate Remote LeafNode Connection",
            DuplicateClientId => "Duplicate Client ID",
            DuplicateServerName => "Duplicate Server Name",
            MinimumVersionRequired => "Minimum Version Required",
            ClusterNamesIdentical => "Cluster Names Identical",
            Kicked => "Kicked",
            ProxyNotTrusted => "Proxy Not Trusted",
            ProxyRequired => "Proxy Required",
        }
    }
}

impl fmt::Display for ClosedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
