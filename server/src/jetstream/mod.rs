//! JetStream: streams on top of the `natsd-store` message stores, driven by requests on
//! the `$JS.API.>` subjects of each JetStream-enabled account.
//!
//! `JetStream` is the server-wide part (configuration, the accounts that use it, API
//! counters); `JsAccount` holds an account's streams. Streams are recovered from the
//! store directory at start (`<store_dir>/jetstream/<account>/streams/<stream>/`, as
//! Go lays it out) and stopped at shutdown, which lets each file store save its index.

pub mod api;
pub mod banner;
pub mod batch;
pub mod consumer;
pub mod consumer_config;
pub mod counter;
pub mod dedup;
pub mod direct;
pub mod encryption;
pub mod fast_batch;
pub mod meta;
pub mod publish;
pub mod schedule;
pub mod snapshot;
pub mod sourcing;
pub mod store_dir;
pub mod stream;
pub mod stream_config;

use crate::account::Account;
use crate::client::Subscription;
use crate::events::internal::InternalClient;
use crate::monitor::gotime::GoTime;
use crate::server::ServerShared;
use api::types::{JetStreamAccountLimits, StorageType, StreamConfig};
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use stream::{StoreSetup, Stream};

/// Directory of an account's streams inside its JetStream directory.
pub const STREAMS_DIR: &str = "streams";
/// The JetStream API level this server implements (Go's `JSApiLevel`).
pub const API_LEVEL: i64 = 4;
/// Go's error for enabling JetStream on an account the server does not know.
pub const ERR_ACCOUNT_NOT_REGISTERED: &str = "jetstream account not registered";
/// Longest stream or consumer name (Go's `JSMaxNameLen`).
pub const MAX_NAME_LEN: usize = 255;

/// Go's `isValidName` for streams and consumers: not empty, no `.`, `*`, `>`, path
/// separators or whitespace.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| matches!(c, '.' | '*' | '>' | '\\' | '/') || c.is_whitespace())
}

/// The server-wide JetStream settings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `<store_dir>/jetstream`.
    pub store_dir: PathBuf,
    /// Bytes; the server's whole memory budget for memory streams.
    pub max_memory: i64,
    /// Bytes; the server's whole disk budget for file streams.
    pub max_store: i64,
    pub domain: String,
    pub sync_interval: Option<Duration>,
    /// Go's `JSLimitOpts.Duplicates`, ns (0: none).
    pub max_duplicates_window: i64,
    /// Encryption at rest (`jetstream { key }`); `None`: the stores are in the clear.
    pub encryption: Option<encryption::ServerKeys>,
}

/// An account's JetStream state: its streams and limits.
#[derive(Debug)]
pub struct JsAccount {
    pub account: Arc<Account>,
    pub limits: JetStreamAccountLimits,
    pub streams: RwLock<BTreeMap<String, Arc<Stream>>>,
    /// Its directory: `<store_dir>/jetstream/<account>`.
    pub dir: PathBuf,
    api_subs: Mutex<Vec<Arc<Subscription>>>,
    /// API requests of this account, and how many failed (Go's `jsa.apiTotal/apiErrors`).
    pub api_total: AtomicU64,
    pub api_errors: AtomicU64,
}

impl JsAccount {
    pub fn stream(&self, name: &str) -> Option<Arc<Stream>> {
        self.streams.read().get(name).cloned()
    }

    pub fn stream_dir(&self, name: &str) -> PathBuf {
        self.dir.join(STREAMS_DIR).join(name)
    }

    /// Bytes used by the account's streams: (memory, file).
    pub fn usage(&self) -> (u64, u64) {
        let mut mem = 0;
        let mut file = 0;
        for s in self.streams.read().values() {
            let bytes = s.store().fast_state().bytes;
            // The kind of store, not the config: a stream asks this while it holds its own
            // state locked (the account limit check of a publish).
            match &s.store {
                stream::StreamStore::Memory(_) => mem += bytes,
                stream::StreamStore::File(_) => file += bytes,
            }
        }
        (mem, file)
    }
}

/// Bytes a stream of `replicas` replicas reserves against its account's limit for a
/// byte limit of `bytes` (Go's `accountReservation`): nothing for no limit; with a flat
/// (untiered, `tier` empty) limit every replica counts, saturating at `i64::MAX`; a tiered
/// limit already accounts for replication.
pub fn account_reservation(tier: &str, replicas: i64, bytes: i64) -> i64 {
    if bytes <= 0 {
        return 0;
    }
    if tier.is_empty() && replicas > 1 {
        return replicas.saturating_mul(bytes);
    }
    bytes
}

/// A stream's claim on the byte budgets (Go's `checkBytesLimits` arguments).
#[derive(Debug, Clone, Copy)]
pub struct BytesRequest<'a> {
    /// The account limit's tier; empty for flat limits.
    pub tier: &'a str,
    /// The stream's byte limit (negative: none, which still takes one byte).
    pub add_bytes: i64,
    pub replicas: i64,
    pub storage: StorageType,
    /// What the account's other streams already reserve of this storage.
    pub account_reserved: i64,
    /// Bytes on top of the limit (a restore's archive).
    pub max_bytes_offset: i64,
}

/// The server's own budget for one kind of storage: what all streams reserve of it, and
/// its size.
#[derive(Debug, Clone, Copy)]
pub struct ServerBudget {
    pub reserved: i64,
    pub max: i64,
}

/// Go's `checkBytesLimits`: whether `req` fits in the account's `limits` and, when
/// `server` is given, in the server's budget. Sums saturate rather than wrap, so huge
/// values are refused instead of slipping under a limit.
pub fn check_bytes_limits(
    limits: &JetStreamAccountLimits,
    req: &BytesRequest<'_>,
    server: Option<ServerBudget>,
) -> Result<(), api::errors::ApiError> {
    use api::errors;
    let add = if req.add_bytes < 0 { 1 } else { req.add_bytes };
    // The server holds one replica; the account may pay for all of them.
    let server_bytes = add.saturating_add(req.max_bytes_offset);
    let account_bytes = account_reservation(req.tier, req.replicas, server_bytes);
    let (account_limit, error) = match req.storage {
        StorageType::Memory => (limits.max_memory, &errors::MEMORY_RESOURCES_EXCEEDED),
        StorageType::File => (limits.max_store, &errors::STORAGE_RESOURCES_EXCEEDED),
    };
    let current = req.account_reserved;
    if account_limit >= 0
        && (current > account_limit || account_bytes > account_limit.saturating_sub(current))
    {
        return Err(error.new());
    }
    if let Some(budget) = server {
        if budget.reserved > budget.max || server_bytes > budget.max.saturating_sub(budget.reserved)
        {
            return Err(error.new());
        }
    }
    Ok(())
}

/// Whether `used + add` bytes go past `max` (sums saturate).
pub fn exceeds_budget(used: u64, add: i64, max: i64) -> bool {
    i128::from(used) + i128::from(add) > i128::from(max)
}

/// JetStream of one server.
pub struct JetStream {
    pub settings: Settings,
    /// The resolved configuration JetStream started with (Go's `js.config`).
    pub config: crate::config::jetstream::JetStreamConfig,
    accounts: RwLock<BTreeMap<String, Arc<JsAccount>>>,
    /// The client that owns the API subscriptions of every account.
    api: Arc<InternalClient>,
    pub api_total: AtomicU64,
    pub api_errors: AtomicU64,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    /// When "resource limits exceeded for server" was last logged (Go logs it at most
    /// every 10 seconds).
    last_resources_alert: Mutex<Option<std::time::Instant>>,
    /// The API subscriptions of accounts without JetStream, which answer that it is not
    /// enabled for them; they pass to the account when it gets JetStream.
    disabled_api_subs: Mutex<BTreeMap<String, Vec<Arc<Subscription>>>>,
    /// The system account's catch-all API subscription.
    system_api_sub: Mutex<Option<Arc<Subscription>>>,
}

impl std::fmt::Debug for JetStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStream")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl JetStream {
    pub fn account(&self, name: &str) -> Option<Arc<JsAccount>> {
        self.accounts.read().get(name).cloned()
    }

    pub fn accounts(&self) -> Vec<Arc<JsAccount>> {
        self.accounts.read().values().cloned().collect()
    }

    pub fn api_client(&self) -> &Arc<InternalClient> {
        &self.api
    }

    /// Where and how the stream `name` of `jsa` keeps its messages.
    pub fn store_setup(&self, jsa: &JsAccount, name: &str) -> StoreSetup {
        StoreSetup {
            dir: jsa.stream_dir(name),
            sync_interval: self.settings.sync_interval,
            keys: self.account_keys(&jsa.account.name),
        }
    }

    /// The keys an account's files are encrypted with (`None`: in the clear).
    pub fn account_keys(&self, account: &str) -> Option<natsd_store::file::StoreKeys> {
        let keys = self.settings.encryption.as_ref()?;
        Some(keys.for_account(account))
    }

    /// Bytes used by every account: (memory, file).
    pub fn usage(&self) -> (u64, u64) {
        self.accounts().iter().fold((0, 0), |(m, f), a| {
            let (am, af) = a.usage();
            (m + am, f + af)
        })
    }

    /// Go's `js.wouldExceedLimits`: whether `size` more bytes of `storage` would take the
    /// server past its own budget for that storage (every account's streams together).
    pub fn would_exceed_limits(&self, storage: StorageType, size: i64) -> bool {
        let (mem, file) = self.usage();
        match storage {
            StorageType::Memory => exceeds_budget(mem, size, self.settings.max_memory),
            StorageType::File => exceeds_budget(file, size, self.settings.max_store),
        }
    }

    /// Go's `js.limitsExceeded`: the server already uses more of `storage` than its budget.
    pub fn limits_exceeded(&self, storage: StorageType) -> bool {
        self.would_exceed_limits(storage, 0)
    }

    /// Go's `resourcesExceededError`: logs that the server is out of `storage`, at most
    /// once every 10 seconds.
    pub fn resources_exceeded_error(&self, server: &ServerShared, storage: StorageType) {
        let now = std::time::Instant::now();
        let mut last = self.last_resources_alert.lock();
        if last.is_some_and(|t| now.duration_since(t) <= Duration::from_secs(10)) {
            return;
        }
        *last = Some(now);
        crate::error!(
            server.logging,
            "JetStream {} resource limits exceeded for server",
            match storage {
                StorageType::Memory => "memory",
                StorageType::File => "file",
            }
        );
    }

    /// Enables JetStream for `account`: its API subscriptions, then the streams found in
    /// its directory. The system account never gets JetStream.
    pub fn enable_account(
        self: &Arc<Self>,
        server: &Arc<ServerShared>,
        account: &Arc<Account>,
        limits: JetStreamAccountLimits,
    ) -> Result<Arc<JsAccount>, String> {
        if server.accounts.is_system(account) {
            return Err(crate::config::jetstream::ERR_JETSTREAM_ON_SYSTEM_ACCOUNT.into());
        }
        if !server
            .accounts
            .lookup(&account.name)
            .is_some_and(|a| Arc::ptr_eq(&a, account))
        {
            return Err(ERR_ACCOUNT_NOT_REGISTERED.into());
        }
        if let Some(existing) = self.account(&account.name) {
            return Ok(existing);
        }
        let jsa = Arc::new(JsAccount {
            account: account.clone(),
            limits,
            streams: RwLock::new(BTreeMap::new()),
            dir: self.settings.store_dir.join(&account.name),
            api_subs: Mutex::new(Vec::new()),
            api_total: AtomicU64::new(0),
            api_errors: AtomicU64::new(0),
        });
        self.accounts
            .write()
            .insert(account.name.clone(), jsa.clone());
        let kept = self.disabled_api_subs.lock().remove(&account.name);
        let subs = match kept {
            Some(subs) => subs,
            None => api::subscribe(self, server, account)?,
        };
        *jsa.api_subs.lock() = subs;
        crate::debug!(
            server.logging,
            "Enabled JetStream for account {:?}",
            account.name
        );
        self.recover_streams(server, &jsa);
        Ok(jsa)
    }

    /// Disables JetStream for the account `name` (Go's `DisableJetStream`): its streams
    /// stop (their data stays on disk) and its API answers that JetStream is not enabled.
    pub fn disable_account(&self, server: &ServerShared, name: &str) -> Result<(), String> {
        let Some(jsa) = self.accounts.write().remove(name) else {
            return Err(api::errors::NOT_ENABLED_FOR_ACCOUNT.new().description);
        };
        let subs = std::mem::take(&mut *jsa.api_subs.lock());
        self.disabled_api_subs.lock().insert(name.to_string(), subs);
        let streams: Vec<_> = std::mem::take(&mut *jsa.streams.write())
            .into_values()
            .collect();
        for s in streams {
            s.stop(server);
        }
        crate::debug!(server.logging, "Disabled JetStream for account {name:?}");
        Ok(())
    }

    /// Subscribes the API of the accounts without JetStream, to answer that it is not
    /// enabled for them (the system account has its own catch-all).
    fn subscribe_disabled_accounts(
        self: &Arc<Self>,
        server: &Arc<ServerShared>,
    ) -> Result<(), String> {
        if let Some(system) = server.accounts.system() {
            *self.system_api_sub.lock() = Some(api::subscribe_system(self, system)?);
        }
        for account in server.accounts.all() {
            if server.accounts.is_system(&account) || self.account(&account.name).is_some() {
                continue;
            }
            // An account that reaches another account's JetStream through an import
            // is answered there (Go's `serviceImportShadowed`).
            let shadowed = account.service_imports().iter().any(|si| {
                crate::subject::subject_is_subset_match(api::ACCOUNT_INFO_SUBJECT, &si.from)
            });
            if shadowed {
                continue;
            }
            let subs = api::subscribe(self, server, &account)?;
            self.disabled_api_subs
                .lock()
                .insert(account.name.clone(), subs);
        }
        Ok(())
    }

    /// Reopens the streams kept in an account's directory.
    fn recover_streams(&self, server: &Arc<ServerShared>, jsa: &Arc<JsAccount>) {
        let sdir = jsa.dir.join(STREAMS_DIR);
        let Ok(entries) = std::fs::read_dir(&sdir) else {
            return;
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .map(|e| e.path())
            .collect();
        dirs.sort();
        for dir in dirs {
            let metafile = dir.join(meta::META_FILE);
            if !metafile.exists() {
                crate::warn!(
                    server.logging,
                    "  Missing stream metafile for {:?}",
                    metafile.display().to_string()
                );
                continue;
            }
            let keys = self.account_keys(&jsa.account.name);
            let (mut m, sealing) = match meta::read_stream_meta(&dir, keys.as_ref()) {
                Ok(read) => read,
                // Go's warning when the configuration does not decrypt (no key, wrong
                // key): the stream is not loaded, its files are left as they are.
                Err(meta::MetaError::Decrypt(e)) => {
                    crate::warn!(
                        server.logging,
                        "  Error decrypting our stream metafile: {e}"
                    );
                    continue;
                }
                Err(e) => {
                    crate::warn!(
                        server.logging,
                        "  Error reading metafile {:?}: {e}",
                        metafile.display().to_string()
                    );
                    continue;
                }
            };
            let name = m.config.name.clone();
            if stream_config::drop_recovered_mirror_subjects(&mut m.config) {
                crate::warn!(
                    server.logging,
                    "  Detected subjects on a mirrored stream {name:?}, will remove"
                );
            }
            crate::notice!(
                server.logging,
                "  Starting restore for stream '{} > {}'",
                jsa.account.name,
                name
            );
            if let Some(keys) = &keys {
                // Opening the store seals what is in the clear or under the previous
                // key or cipher; Go logs which.
                match sealing {
                    meta::Sealing::Clear => crate::notice!(
                        server.logging,
                        "  Encrypting stream '{} > {}'",
                        jsa.account.name,
                        name
                    ),
                    meta::Sealing::Stale => crate::notice!(
                        server.logging,
                        "  Converting to {} for stream '{} > {}'",
                        banner::cipher_name(keys.cipher),
                        jsa.account.name,
                        name
                    ),
                    meta::Sealing::Current => {}
                }
            }
            let started = std::time::Instant::now();
            let setup = StoreSetup {
                dir: dir.clone(),
                sync_interval: self.settings.sync_interval,
                keys,
            };
            let store = match stream::open_store(&m.config, m.created, &setup) {
                Ok(s) => s,
                Err(e) => {
                    crate::warn!(server.logging, "  Error recreating stream {name:?}: {e}");
                    continue;
                }
            };
            let s = Stream::new(
                jsa.account.clone(),
                m.config,
                m.created,
                Some(dir),
                store,
                self.settings.domain.clone(),
            );
            s.set_account(jsa);
            s.recover_partial_batch(server);
            if let Err(e) = s.start(server) {
                crate::warn!(server.logging, "  Error recreating stream {name:?}: {e}");
                s.stop(server);
                continue;
            }
            let msgs = s.store().fast_state().msgs;
            jsa.streams.write().insert(name.clone(), s.clone());
            crate::notice!(
                server.logging,
                "  Restored {} messages for stream '{} > {}' in {}",
                crate::util::comma(msgs as i64),
                jsa.account.name,
                name,
                crate::monitor::gotime::go_duration_string(
                    (started.elapsed().as_millis() as i64) * 1_000_000
                )
            );
            consumer::recover_consumers(server, &s);
            s.check_interest_state();
        }
    }

    /// Bytes reserved by streams with a byte limit: (memory, file); `except` is left out
    /// (the stream being updated).
    fn reserved(streams: &BTreeMap<String, Arc<Stream>>, except: &str) -> (i64, i64) {
        let mut out = (0i64, 0i64);
        for s in streams.values().filter(|s| s.name != except) {
            let cfg = s.config();
            if cfg.max_bytes > 0 {
                match cfg.storage {
                    StorageType::Memory => out.0 = out.0.saturating_add(cfg.max_bytes),
                    StorageType::File => out.1 = out.1.saturating_add(cfg.max_bytes),
                }
            }
        }
        out
    }

    /// Go's limits check before a stream is added: the account's stream count, then
    /// the bytes the stream reserves against the account's and the server's limits.
    pub fn check_stream_limits(
        &self,
        jsa: &JsAccount,
        cfg: &StreamConfig,
    ) -> Result<(), api::errors::ApiError> {
        use api::errors;
        let limits = &jsa.limits;
        if cfg.max_consumers > 0
            && limits.max_consumers > 0
            && cfg.max_consumers > limits.max_consumers
        {
            return Err(errors::MAXIMUM_CONSUMERS_LIMIT.new());
        }
        let (acc_mem, acc_file) = Self::reserved(&jsa.streams.read(), &cfg.name);
        let (srv_mem, srv_file) = self
            .accounts()
            .iter()
            .map(|a| {
                Self::reserved(
                    &a.streams.read(),
                    if a.account.name == jsa.account.name {
                        &cfg.name
                    } else {
                        ""
                    },
                )
            })
            .fold((0i64, 0i64), |(m, f), (am, af)| {
                (m.saturating_add(am), f.saturating_add(af))
            });
        let (account_reserved, server) = match cfg.storage {
            StorageType::Memory => (acc_mem, (srv_mem, self.settings.max_memory)),
            StorageType::File => (acc_file, (srv_file, self.settings.max_store)),
        };
        check_bytes_limits(
            limits,
            &BytesRequest {
                // natsd has no tiered limits.
                tier: "",
                add_bytes: cfg.max_bytes,
                replicas: cfg.replicas,
                storage: cfg.storage,
                account_reserved,
                max_bytes_offset: 0,
            },
            Some(ServerBudget {
                reserved: server.0,
                max: server.1,
            }),
        )
    }

    /// Creates a stream in `jsa` from a checked configuration.
    pub fn create_stream(
        &self,
        server: &Arc<ServerShared>,
        jsa: &Arc<JsAccount>,
        cfg: StreamConfig,
    ) -> Result<Arc<Stream>, api::errors::ApiError> {
        use api::errors;
        let created = GoTime::now();
        let dir = (cfg.storage == StorageType::File).then(|| jsa.stream_dir(&cfg.name));
        let setup = self.store_setup(jsa, &cfg.name);
        let store = stream::open_store(&cfg, created, &setup).map_err(|e| {
            crate::warn!(
                server.logging,
                "Stream create failed for '{} > {}': {e}",
                jsa.account.name,
                cfg.name
            );
            errors::STREAM_CREATE.with_err(&"error creating store for stream")
        })?;
        let s = Stream::new(
            jsa.account.clone(),
            cfg,
            created,
            dir,
            store,
            self.settings.domain.clone(),
        );
        s.set_account(jsa);
        if let Err(e) = s.start(server) {
            let _ = s.delete(server);
            return Err(errors::STREAM_CREATE.with_err(&e));
        }
        jsa.streams.write().insert(s.name.clone(), s.clone());
        Ok(s)
    }

    /// Stops every stream (each file store saves its index) and the API.
    pub fn shutdown(&self, server: &ServerShared) {
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
        let unused: Vec<_> = std::mem::take(&mut *self.disabled_api_subs.lock())
            .into_values()
            .flatten()
            .chain(self.system_api_sub.lock().take())
            .collect();
        for sub in unused {
            self.api.unsubscribe(server, &sub);
        }
        let accounts: Vec<_> = std::mem::take(&mut *self.accounts.write())
            .into_values()
            .collect();
        for jsa in accounts {
            for sub in jsa.api_subs.lock().drain(..) {
                self.api.unsubscribe(server, &sub);
            }
            let streams: Vec<_> = std::mem::take(&mut *jsa.streams.write())
                .into_values()
                .collect();
            for s in streams {
                s.stop(server);
            }
        }
        self.api.close(server);
    }
}

/// Starts JetStream if the options enable it: the store directory, the accounts that use
/// it, and their streams. Logs what Go logs.
pub fn start(server: &Arc<ServerShared>) -> Result<(), String> {
    use crate::config::jetstream as cfgjs;
    let opts = server.opts();
    if !opts.jetstream {
        return Ok(());
    }
    crate::notice!(server.logging, "Starting JetStream");
    let cfg = cfgjs::resolve_here(&opts)?;
    if cfgjs::uses_temporary_store_dir(&opts) {
        crate::warn!(server.logging, "{}", cfgjs::TEMPORARY_STORE_DIR_WARNING);
    }
    let is_account = |name: &str| server.accounts.lookup(name).is_some();
    let relocated =
        store_dir::relocate_accounts(&cfg.store_dir, is_account).map_err(|e| e.to_string())?;
    for (from, to) in relocated {
        crate::notice!(
            server.logging,
            "JetStream relocated account {from:?} to {to:?}"
        );
    }
    std::fs::create_dir_all(&cfg.store_dir)
        .map_err(|e| format!("could not create storage directory - {e}"))?;
    if !cfg.store_dir.is_dir() {
        return Err("storage directory is not a directory".into());
    }
    for line in banner::startup_lines(&cfg, &opts, API_LEVEL) {
        crate::notice!(server.logging, "{line}");
    }
    let accounts = cfgjs::jetstream_accounts(&opts)?;
    let settings = Settings {
        store_dir: cfg.store_dir.clone(),
        max_memory: cfg.max_memory,
        max_store: cfg.max_store,
        domain: cfg.domain.clone(),
        // natsd keeps acknowledged messages durable unless `sync_interval` is set
        // (and not `always`).
        sync_interval: if opts.sync_always {
            None
        } else {
            opts.sync_interval
        },
        max_duplicates_window: i64::try_from(opts.jetstream_limits.duplicates.as_nanos())
            .unwrap_or(i64::MAX),
        encryption: encryption::ServerKeys::from_options(
            &opts.jetstream_key,
            &opts.jetstream_old_key,
            opts.jetstream_cipher,
        ),
    };
    let js = Arc::new(JetStream {
        settings,
        config: cfg.clone(),
        accounts: RwLock::new(BTreeMap::new()),
        api: Arc::new(InternalClient::new(0, server.accounts.global().clone())),
        api_total: AtomicU64::new(0),
        api_errors: AtomicU64::new(0),
        tasks: Mutex::new(Vec::new()),
        last_resources_alert: Mutex::new(None),
        disabled_api_subs: Mutex::new(BTreeMap::new()),
        system_api_sub: Mutex::new(None),
    });
    let dispatcher = tokio::spawn(crate::events::internal::dispatch_loop_blocking(
        Arc::downgrade(server),
        js.api.clone(),
    ));
    js.tasks.lock().push(dispatcher.abort_handle());
    server.set_jetstream(Some(js.clone()));
    snapshot::subscribe_account_purge(&js, server)?;
    for (name, limits) in accounts {
        let Some(account) = server.accounts.lookup(&name) else {
            continue;
        };
        js.enable_account(server, &account, limits)?;
    }
    js.subscribe_disabled_accounts(server)?;
    Ok(())
}

/// Stops JetStream (Go's `shutdownJetStream`).
pub fn shutdown(server: &ServerShared) {
    let Some(js) = server.set_jetstream(None) else {
        return;
    };
    crate::notice!(server.logging, "Initiating JetStream Shutdown...");
    js.shutdown(server);
    crate::notice!(server.logging, "JetStream Shutdown");
}

/// Counts an API request (and whether it failed).
pub(crate) fn count_api(js: &JetStream, failed: bool) {
    js.api_total.fetch_add(1, Ordering::Relaxed);
    if failed {
        js.api_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts an API request of `account` for the server and for the account (Go's
/// `trackAPI`/`trackAPIErr`).
pub(crate) fn count_account_api(js: &JetStream, account: &str, failed: bool) {
    count_api(js, failed);
    if let Some(jsa) = js.account(account) {
        jsa.api_total.fetch_add(1, Ordering::Relaxed);
        if failed {
            jsa.api_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(bytes: i64) -> JetStreamAccountLimits {
        JetStreamAccountLimits {
            max_memory: bytes,
            max_store: bytes,
            ..Default::default()
        }
    }

    fn request(add_bytes: i64, replicas: i64, account_reserved: i64) -> BytesRequest<'static> {
        BytesRequest {
            tier: "",
            add_bytes,
            replicas,
            storage: StorageType::File,
            account_reserved,
            max_bytes_offset: 0,
        }
    }

    #[test]
    fn a_server_budget_holds_exactly_its_size() {
        assert!(!exceeds_budget(0, 1024, 1024));
        assert!(exceeds_budget(0, 1025, 1024));
        assert!(exceeds_budget(1000, 25, 1024));
        assert!(!exceeds_budget(1024, 0, 1024));
        assert!(exceeds_budget(1025, 0, 1024));
        assert!(!exceeds_budget(u64::MAX, i64::MIN, i64::MAX));
    }

    #[test]
    fn flat_account_limits_pay_for_every_replica() {
        assert_eq!(account_reservation("", 3, 100), 300);
        assert_eq!(account_reservation("R3", 3, 100), 100);
        assert_eq!(account_reservation("", 3, -1), 0);
        assert!(check_bytes_limits(&limits(300), &request(100, 3, 0), None).is_ok());
        assert!(check_bytes_limits(&limits(299), &request(100, 3, 0), None).is_err());
    }

    #[test]
    fn a_stream_without_a_byte_limit_takes_one_byte() {
        assert!(check_bytes_limits(&limits(1), &request(-1, 1, 0), None).is_ok());
        assert!(check_bytes_limits(&limits(1), &request(-1, 1, 1), None).is_err());
        assert!(check_bytes_limits(&limits(-1), &request(i64::MAX, 1, 0), None).is_ok());
    }

    #[test]
    fn the_server_budget_counts_one_replica_and_has_no_unlimited() {
        let budget = |reserved, max| Some(ServerBudget { reserved, max });
        let unlimited = limits(-1);
        assert!(check_bytes_limits(&unlimited, &request(100, 3, 0), budget(900, 1000)).is_ok());
        assert!(check_bytes_limits(&unlimited, &request(101, 1, 0), budget(900, 1000)).is_err());
        assert!(check_bytes_limits(&unlimited, &request(0, 1, 0), budget(1001, 1000)).is_err());
        assert!(check_bytes_limits(&unlimited, &request(1, 1, 0), budget(0, -1)).is_err());
    }
}
