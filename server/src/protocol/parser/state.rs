//! Where the parser stands between two bytes.

/// The parser's position in the protocol grammar.
///
/// The discriminants are the numbers nats-server prints in its `parser ERROR, state=N` log
/// line, so natsd's logs read the same. Op-name states (`OpP`, `OpPu`, ...) record how much of
/// an operation name has been seen; `*Spc` states skip the blanks before the arguments;
/// `*Arg` states wait for the end of a control line; `MsgPayload`, `MsgEndR` and `MsgEndN`
/// wait for a message body and its CRLF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ParseState {
    OpStart = 0,
    OpPlus,
    OpPlusO,
    OpPlusOk,
    OpMinus,
    OpMinusE,
    OpMinusEr,
    OpMinusErr,
    OpMinusErrSpc,
    MinusErrArg,
    OpC,
    OpCo,
    OpCon,
    OpConn,
    OpConne,
    OpConnec,
    OpConnect,
    ConnectArg,
    OpH,
    OpHp,
    OpHpu,
    OpHpub,
    OpHpubSpc,
    HpubArg,
    OpHm,
    OpHms,
    OpHmsg,
    OpHmsgSpc,
    HmsgArg,
    OpP,
    OpPu,
    OpPub,
    OpPubSpc,
    PubArg,
    OpPi,
    OpPin,
    OpPing,
    OpPo,
    OpPon,
    OpPong,
    MsgPayload,
    MsgEndR,
    MsgEndN,
    OpS,
    OpSu,
    OpSub,
    OpSubSpc,
    SubArg,
    OpA,
    OpAsub,
    OpAsubSpc,
    AsubArg,
    OpAusub,
    OpAusubSpc,
    AusubArg,
    OpL,
    OpLs,
    OpR,
    OpRs,
    OpU,
    OpUn,
    OpUns,
    OpUnsu,
    OpUnsub,
    OpUnsubSpc,
    UnsubArg,
    OpM,
    OpMs,
    OpMsg,
    OpMsgSpc,
    MsgArg,
    OpI,
    OpIn,
    OpInf,
    OpInfo,
    InfoArg,
}

impl ParseState {
    /// The number nats-server uses for this state in its logs.
    pub fn go_number(self) -> u8 {
        self as u8
    }

    /// States that wait for the end of a control line (`\n`) with the arguments buffered.
    pub fn is_arg(self) -> bool {
        matches!(
            self,
            ParseState::MinusErrArg
                | ParseState::ConnectArg
                | ParseState::HpubArg
                | ParseState::HmsgArg
                | ParseState::PubArg
                | ParseState::SubArg
                | ParseState::AsubArg
                | ParseState::AusubArg
                | ParseState::UnsubArg
                | ParseState::MsgArg
                | ParseState::InfoArg
        )
    }
}

/// What kind of peer sends the bytes; it decides which operations are legal and how
/// message arguments are read, as in nats-server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConnKind {
    #[default]
    Client,
    Router,
    Gateway,
    Leaf,
    /// The server's internal clients: they never parse bytes from a socket, but are named
    /// in events and logs as Go names them.
    JetStream,
    Account,
    System,
}

impl ConnKind {
    /// The name nats-server uses for this kind in log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnKind::Client => "Client",
            ConnKind::Router => "Router",
            ConnKind::Gateway => "Gateway",
            ConnKind::Leaf => "Leafnode",
            ConnKind::JetStream => "JetStream",
            ConnKind::Account => "Account",
            ConnKind::System => "System",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_nats_server() {
        assert_eq!(ParseState::OpStart.go_number(), 0);
        assert_eq!(ParseState::ConnectArg.go_number(), 17);
        assert_eq!(ParseState::PubArg.go_number(), 33);
        assert_eq!(ParseState::MsgPayload.go_number(), 40);
        assert_eq!(ParseState::MsgEndN.go_number(), 42);
        assert_eq!(ParseState::SubArg.go_number(), 47);
        assert_eq!(ParseState::UnsubArg.go_number(), 65);
        assert_eq!(ParseState::InfoArg.go_number(), 75);
    }
}
