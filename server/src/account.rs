//! Accounts: isolated subject spaces. Every client is bound to one account and only
//! reaches subscribers of that account. Clients without an account of their own use the
//! global account `$G`; the system account (`$SYS` unless configured otherwise) carries
//! the server's own events and requests.

pub mod imports;
pub mod routing;

use crate::client::SubRef;
use crate::sublist::Sublist;
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The account of clients that are not bound to a configured one.
pub const GLOBAL_ACCOUNT: &str = "$G";
/// The system account a server creates when none is configured.
pub const DEFAULT_SYSTEM_ACCOUNT: &str = "$SYS";

/// An account as the configuration declares it (`accounts { NAME { ... } }`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountConfig {
    pub name: String,
    /// The account's public nkey (`nkey: A...`), when it has one.
    pub nkey: String,
    /// Permissions for the account's users that have none of their own.
    pub default_permissions: Option<crate::auth::Permissions>,
    /// `msg_trace { dest }`: where traces of the account's messages go when a message
    /// carries only a sampled `traceparent` (see `crate::msgtrace`).
    pub trace_dest: String,
    /// `msg_trace { sampling }`: the percentage of messages traced (1..100).
    pub trace_dest_sampling: i64,
    /// `mappings`: subject mappings of the account's publishes.
    pub mappings: crate::config::mappings::MappingsConfig,
    /// `limits { ... }`.
    pub limits: AccountLimits,
    /// `exports`: streams and services other accounts may import.
    pub exports: Vec<imports::ExportConfig>,
    /// `imports`: streams and services taken from other accounts.
    pub imports: Vec<imports::ImportConfig>,
    /// `jetstream`: the account's JetStream limits when it enables JetStream.
    pub jetstream: Option<crate::config::jetstream::JetStreamAccountLimits>,
    /// `jetstream { cluster_traffic: owner }`: replication traffic in the account
    /// rather than the system account.
    pub jetstream_cluster_traffic_owner: bool,
}

/// An account's `limits` (negative: no limit, as Go's `jwt.NoLimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLimits {
    /// Connections of the account at once (`max_connections`).
    pub max_connections: i64,
    /// Subscriptions per connection (`max_subscriptions`).
    pub max_subs: i64,
    /// Message payload size (`max_payload`).
    pub max_payload: i64,
    /// Leafnode connections (`max_leafnodes`; natsd has no leafnodes yet).
    pub max_leafnodes: i64,
}

impl Default for AccountLimits {
    fn default() -> Self {
        AccountLimits {
            max_connections: -1,
            max_subs: -1,
            max_payload: -1,
            max_leafnodes: -1,
        }
    }
}

/// The smaller of a server limit (`server`, 0 or less: none) and an account limit
/// (`account`, negative: none); `None` when neither limits (Go's `minLimit`).
pub fn min_limit(server: i64, account: i64) -> Option<i64> {
    match (server > 0, account >= 0) {
        (true, true) => Some(server.min(account)),
        (true, false) => Some(server),
        (false, true) => Some(account),
        (false, false) => None,
    }
}

/// Message and byte counters of one direction.
#[derive(Debug, Default)]
pub struct MsgCounters {
    pub msgs: AtomicU64,
    pub bytes: AtomicU64,
}

impl MsgCounters {
    pub fn add(&self, msgs: u64, bytes: u64) {
        self.msgs.fetch_add(msgs, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// (messages, bytes) as Go's signed counters report them.
    pub fn load(&self) -> (i64, i64) {
        let l = |a: &AtomicU64| i64::try_from(a.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        (l(&self.msgs), l(&self.bytes))
    }
}

/// One account: its own subscriptions and its traffic counters.
#[derive(Debug)]
pub struct Account {
    pub name: String,
    pub nkey: String,
    pub sublist: Sublist<SubRef>,
    /// Messages the account's clients published.
    pub received: MsgCounters,
    /// Messages delivered to the account's clients.
    pub sent: MsgCounters,
    pub slow_consumers: AtomicU64,
    /// When the account was created or last updated, Unix nanoseconds (`/accountz`).
    pub updated_nanos: i64,
    /// Subjects its clients' publishes are mapped to (`mappings`).
    pub mappings: crate::mapping::Mappings,
    limits: RwLock<AccountLimits>,
    /// Exports, imports and pending service responses (`account::imports`).
    ie: RwLock<imports::ImportsExports>,
    /// Fast checks for the publish path: other accounts import streams from this one,
    /// this one imports services, `_R_.` replies wait for responses.
    has_stream_importers: AtomicBool,
    has_service_imports: AtomicBool,
    has_responses: AtomicBool,
}

impl Account {
    pub fn new(name: &str, nkey: &str, sublist_cache: bool) -> Account {
        Account {
            name: name.to_string(),
            nkey: nkey.to_string(),
            sublist: Sublist::with_cache_enabled(sublist_cache),
            received: MsgCounters::default(),
            sent: MsgCounters::default(),
            slow_consumers: AtomicU64::new(0),
            updated_nanos: crate::monitor::gotime::now_nanos(),
            mappings: crate::mapping::Mappings::default(),
            limits: RwLock::new(AccountLimits::default()),
            ie: RwLock::new(imports::ImportsExports::default()),
            has_stream_importers: AtomicBool::new(false),
            has_service_imports: AtomicBool::new(false),
            has_responses: AtomicBool::new(false),
        }
    }

    /// The account's limits (none unless configured).
    pub fn limits(&self) -> AccountLimits {
        *self.limits.read()
    }

    pub fn set_limits(&self, limits: AccountLimits) {
        *self.limits.write() = limits;
    }

    /// How monitoring names the account: its nkey when it has one, else its name.
    pub fn name_tag(&self) -> &str {
        &self.name
    }
}

/// The accounts of a server, by name.
#[derive(Debug)]
pub struct Accounts {
    by_name: RwLock<BTreeMap<String, Arc<Account>>>,
    global: Arc<Account>,
    system: Option<Arc<Account>>,
    /// Whether new accounts' sublists cache matches (`no_sublist_cache` unset).
    sublist_cache: bool,
    /// The exports and imports last applied: a reload that leaves them as they were
    /// keeps them in place rather than setting them anew (a request published while
    /// they were being set again would find no import).
    applied: parking_lot::Mutex<ImportsFingerprint>,
}

/// What the configured exports and imports of a set of accounts depend on.
type ImportsFingerprint = Vec<(
    String,
    Vec<imports::ExportConfig>,
    Vec<imports::ImportConfig>,
)>;

fn imports_fingerprint(o: &crate::config::Options) -> ImportsFingerprint {
    o.accounts
        .iter()
        .map(|a| (a.name.clone(), a.exports.clone(), a.imports.clone()))
        .collect()
}

/// Registering an account under a name already taken (Go's `ErrAccountExists`).
pub const ERR_ACCOUNT_EXISTS: &str = "account exists";

/// Creates the accounts of `o` that are not in `by_name` yet, and sets every configured
/// account's mappings (the global account's from the top-level `mappings`).
fn add_configured(by_name: &mut BTreeMap<String, Arc<Account>>, o: &crate::config::Options) {
    let cache = !o.no_sublist_cache;
    for a in &o.accounts {
        let acc = by_name
            .entry(a.name.clone())
            .or_insert_with(|| Arc::new(Account::new(&a.name, &a.nkey, cache)));
        set_mappings(acc, &a.mappings);
        acc.set_limits(a.limits);
    }
    if let Some(global) = by_name.get(GLOBAL_ACCOUNT) {
        set_mappings(global, &o.mappings);
    }
}

/// Sets the configured exports and imports anew (the accounts must all exist first);
/// the refusals, in Go's texts (the file's were checked when it was read).
fn set_imports_exports(
    by_name: &BTreeMap<String, Arc<Account>>,
    o: &crate::config::Options,
) -> Vec<String> {
    for acc in by_name.values() {
        acc.clear_imports_exports();
    }
    imports::apply_configured(by_name, &o.accounts, o.no_system_account)
}

/// Replaces `acc`'s mappings with the configured ones (checked when the file was read).
fn set_mappings(acc: &Account, mappings: &crate::config::mappings::MappingsConfig) {
    acc.mappings.clear();
    for (src, dests) in mappings {
        let _ = acc.mappings.add_weighted(src, dests);
    }
}

impl Accounts {
    /// The global account, the configured accounts, and the system account: the one
    /// `system_account` names, else `$SYS` (created when not configured) unless
    /// `no_system_account`. A `$SYS` account in the configuration becomes the system
    /// account when none is named, as in Go.
    pub fn from_options(o: &crate::config::Options) -> Result<Accounts, String> {
        let cache = !o.no_sublist_cache;
        let global = Arc::new(Account::new(GLOBAL_ACCOUNT, "", cache));
        let mut by_name = BTreeMap::new();
        by_name.insert(GLOBAL_ACCOUNT.to_string(), global.clone());
        add_configured(&mut by_name, o);
        let mut sys_name = o.system_account.clone();
        if sys_name.is_empty() && by_name.contains_key(DEFAULT_SYSTEM_ACCOUNT) {
            sys_name = DEFAULT_SYSTEM_ACCOUNT.to_string();
        }
        if let Some(e) = set_imports_exports(&by_name, o).into_iter().next() {
            return Err(e);
        }
        let system = if !sys_name.is_empty() {
            match by_name.get(&sys_name) {
                Some(a) => Some(a.clone()),
                None => return Err("Can't set system account: account missing".to_string()),
            }
        } else if o.no_system_account {
            None
        } else {
            let sys = Arc::new(Account::new(DEFAULT_SYSTEM_ACCOUNT, "", cache));
            by_name.insert(DEFAULT_SYSTEM_ACCOUNT.to_string(), sys.clone());
            Some(sys)
        };
        Ok(Accounts {
            by_name: RwLock::new(by_name),
            global,
            system,
            sublist_cache: cache,
            applied: parking_lot::Mutex::new(imports_fingerprint(o)),
        })
    }

    /// A reload: accounts the options add are created, accounts they no longer have are
    /// dropped (never `$G` or the system account). Clients of a dropped account are
    /// closed by the authorization check that follows.
    pub fn sync_with(&self, o: &crate::config::Options) {
        let mut by_name = self.by_name.write();
        let names_before: Vec<String> = by_name.keys().cloned().collect();
        by_name.retain(|name, acc| {
            name == GLOBAL_ACCOUNT
                || self.is_system(acc)
                || o.accounts.iter().any(|a| &a.name == name)
        });
        add_configured(&mut by_name, o);
        let fingerprint = imports_fingerprint(o);
        let mut applied = self.applied.lock();
        if !by_name.keys().eq(names_before.iter()) || *applied != fingerprint {
            // Checked when the file was read.
            let _ = set_imports_exports(&by_name, o);
            *applied = fingerprint;
        }
    }

    pub fn global(&self) -> &Arc<Account> {
        &self.global
    }

    pub fn system(&self) -> Option<&Arc<Account>> {
        self.system.as_ref()
    }

    pub fn is_system(&self, acc: &Account) -> bool {
        self.system
            .as_ref()
            .is_some_and(|s| std::ptr::eq(Arc::as_ptr(s), acc))
    }

    pub fn lookup(&self, name: &str) -> Option<Arc<Account>> {
        self.by_name.read().get(name).cloned()
    }

    /// Adds an account named `name` (Go's `RegisterAccount`); a name already taken,
    /// `$G` and the system account included, is refused.
    pub fn register(&self, name: &str) -> Result<Arc<Account>, &'static str> {
        let mut by_name = self.by_name.write();
        if by_name.contains_key(name) {
            return Err(ERR_ACCOUNT_EXISTS);
        }
        let acc = Arc::new(Account::new(name, "", self.sublist_cache));
        by_name.insert(name.to_string(), acc.clone());
        Ok(acc)
    }

    /// Every account, sorted by name.
    pub fn all(&self) -> Vec<Arc<Account>> {
        self.by_name.read().values().cloned().collect()
    }

    /// Subscriptions over every account.
    pub fn num_subscriptions(&self) -> u32 {
        self.by_name
            .read()
            .values()
            .map(|a| a.sublist.count())
            .sum()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Options;

    fn names(a: &Accounts) -> Vec<String> {
        a.all().iter().map(|a| a.name.clone()).collect()
    }

    #[test]
    fn default_accounts_are_global_and_system() {
        let a = Accounts::from_options(&Options::default()).unwrap();
        assert_eq!(names(&a), ["$G", "$SYS"]);
        assert_eq!(a.system().unwrap().name, "$SYS");
        assert!(a.is_system(a.system().unwrap()));
        assert!(!a.is_system(a.global()));
    }

    #[test]
    fn no_system_account() {
        let o = Options {
            no_system_account: true,
            ..Options::default()
        };
        let a = Accounts::from_options(&o).unwrap();
        assert_eq!(names(&a), ["$G"]);
        assert!(a.system().is_none());
    }

    #[test]
    fn configured_system_account_must_exist() {
        let mut o = Options {
            system_account: "SYS".into(),
            ..Options::default()
        };
        assert!(Accounts::from_options(&o).is_err());
        o.accounts.push(AccountConfig {
            name: "SYS".into(),
            ..AccountConfig::default()
        });
        let a = Accounts::from_options(&o).unwrap();
        assert_eq!(names(&a), ["$G", "SYS"]);
        assert_eq!(a.system().unwrap().name, "SYS");
    }

    #[test]
    fn register_refuses_taken_names() {
        let a = Accounts::from_options(&Options::default()).unwrap();
        let foo = a.register("$foo").unwrap();
        assert!(Arc::ptr_eq(&foo, &a.lookup("$foo").unwrap()));
        assert!(foo.sublist.cache_enabled());
        for taken in ["$foo", GLOBAL_ACCOUNT, DEFAULT_SYSTEM_ACCOUNT] {
            assert_eq!(a.register(taken).unwrap_err(), ERR_ACCOUNT_EXISTS);
        }
        let o = Options {
            no_sublist_cache: true,
            ..Options::default()
        };
        let a = Accounts::from_options(&o).unwrap();
        assert!(!a.register("x").unwrap().sublist.cache_enabled());
    }

    #[test]
    fn a_configured_sys_account_is_the_system_account() {
        let o = Options {
            accounts: vec![AccountConfig {
                name: "$SYS".into(),
                ..AccountConfig::default()
            }],
            ..Options::default()
        };
        let a = Accounts::from_options(&o).unwrap();
        assert_eq!(a.system().unwrap().name, "$SYS");
        assert_eq!(names(&a), ["$G", "$SYS"]);
    }
}
