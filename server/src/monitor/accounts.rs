//! `/accountz` and `/accstatz`: the accounts (without imports, exports or JWTs, which
//! natsd does not have yet) and their traffic.

use super::gotime::GoTime;
use crate::account::Account;
use crate::server::ServerShared;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;

fn is_false(v: &bool) -> bool {
    !*v
}

/// Go's `Accountz`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Accountz {
    #[serde(rename = "server_id")]
    pub id: String,
    pub now: GoTime,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub system_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<String>>,
    #[serde(rename = "account_detail", skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountInfo>,
}

/// Go's `AccountInfo`, for the parts an account without JWT, imports or exports has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountInfo {
    pub account_name: String,
    #[serde(rename = "update_time")]
    pub last_update: GoTime,
    #[serde(skip_serializing_if = "is_false")]
    pub is_system: bool,
    pub expired: bool,
    pub complete: bool,
    #[serde(rename = "jetstream_enabled")]
    pub jetstream: bool,
    #[serde(rename = "leafnode_connections")]
    pub leaf_cnt: i64,
    #[serde(rename = "client_connections")]
    pub client_cnt: i64,
    #[serde(rename = "subscriptions")]
    pub sub_cnt: u32,
    /// Source subject to destinations with cumulative weights (Go's `ExtMap`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub mappings: std::collections::BTreeMap<String, Vec<crate::mapping::MapDest>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_tag: String,
    #[serde(rename = "sublist_stats", skip_serializing_if = "Option::is_none")]
    pub sublist: Option<super::subsz::SubszStats>,
}

/// Go's `Server.Accountz`: the account names, or one account's details.
pub fn accountz(s: &ServerShared, account: &str) -> Result<Accountz, String> {
    let mut a = Accountz {
        id: s.id.clone(),
        now: GoTime::now(),
        system_account: s
            .accounts
            .system()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        ..Accountz::default()
    };
    if account.is_empty() {
        a.accounts = Some(s.accounts.all().iter().map(|a| a.name.clone()).collect());
        return Ok(a);
    }
    let Some(acc) = s.accounts.lookup(account) else {
        return Err(format!("Account {account} does not exist"));
    };
    a.account = Some(AccountInfo {
        account_name: acc.name.clone(),
        last_update: GoTime::from_unix_nanos(acc.updated_nanos),
        is_system: s.accounts.is_system(&acc),
        complete: true,
        jetstream: s
            .jetstream()
            .is_some_and(|js| js.account(&acc.name).is_some()),
        client_cnt: s.num_account_clients(&acc) as i64,
        sub_cnt: acc.sublist.count(),
        mappings: acc.mappings.describe(),
        name_tag: acc.name_tag().to_string(),
        sublist: Some(super::subsz::SubszStats::from(&acc.sublist.stats())),
        ..AccountInfo::default()
    });
    Ok(a)
}

/// Go's `AccountStatz`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountStatz {
    #[serde(rename = "server_id")]
    pub id: String,
    pub now: GoTime,
    #[serde(rename = "account_statz")]
    pub accounts: Vec<AccountStat>,
}

/// Go's `AccountStat`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountStat {
    #[serde(rename = "acc")]
    pub account: String,
    pub name: String,
    pub conns: i64,
    #[serde(rename = "leafnodes")]
    pub leaf_nodes: i64,
    pub total_conns: i64,
    #[serde(rename = "num_subscriptions")]
    pub num_subs: u32,
    pub sent: DataStats,
    pub received: DataStats,
    pub slow_consumers: i64,
}

/// Go's `DataStats`: messages and bytes, in total and per connection kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataStats {
    pub msgs: i64,
    pub bytes: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateways: Option<MsgBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routes: Option<MsgBytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leafs: Option<MsgBytes>,
}

/// Go's `MsgBytes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgBytes {
    pub msgs: i64,
    pub bytes: i64,
}

/// Go's `AccountStatzOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountStatzOptions {
    pub accounts: Vec<String>,
    pub include_unused: bool,
}

/// Go's `Server.AccountStatz`: accounts with connections (or all with `include_unused`).
pub fn accstatz(s: &ServerShared, opts: &AccountStatzOptions) -> AccountStatz {
    let mut stz = AccountStatz {
        id: s.id.clone(),
        now: GoTime::now(),
        accounts: Vec::new(),
    };
    let accounts = if opts.accounts.is_empty() {
        s.accounts.all()
    } else {
        opts.accounts
            .iter()
            .filter_map(|a| s.accounts.lookup(a))
            .collect()
    };
    for acc in accounts {
        let conns = s.num_account_clients(&acc) as i64;
        if opts.include_unused || conns != 0 {
            stz.accounts.push(account_stat(&acc, conns));
        }
    }
    stz
}

/// Go's `Account.statz`.
fn account_stat(acc: &Account, conns: i64) -> AccountStat {
    let per_kind = || Some(MsgBytes::default());
    let (in_msgs, in_bytes) = acc.received.load();
    let (out_msgs, out_bytes) = acc.sent.load();
    AccountStat {
        account: acc.name.clone(),
        name: acc.name_tag().to_string(),
        conns,
        leaf_nodes: 0,
        total_conns: conns,
        num_subs: acc.sublist.count(),
        sent: DataStats {
            msgs: out_msgs,
            bytes: out_bytes,
            gateways: per_kind(),
            routes: per_kind(),
            leafs: per_kind(),
        },
        received: DataStats {
            msgs: in_msgs,
            bytes: in_bytes,
            gateways: per_kind(),
            routes: per_kind(),
            leafs: per_kind(),
        },
        slow_consumers: i64::try_from(acc.slow_consumers.load(Ordering::Relaxed))
            .unwrap_or(i64::MAX),
    }
}
