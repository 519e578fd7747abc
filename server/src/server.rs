//! The server: listener, client registry, INFO, lifecycle (shutdown, lame duck), pid and
//! ports files.

use crate::client::{self, Client, SubRef};
use crate::closed::ClosedState;
use crate::config::Options;
use crate::logging::{LogConfig, Logging};
use crate::protocol::encode;
use bytes::BytesMut;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

/// Message counters, as `/varz` reports them.
#[derive(Debug, Default)]
pub struct ServerStats {
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub out_msgs: AtomicU64,
    pub out_bytes: AtomicU64,
    pub slow_consumers: AtomicU64,
    /// Connections closed for not answering PINGs (Go's `staleConnections`).
    pub stale_connections: AtomicU64,
    pub total_connections: AtomicU64,
}

/// The INFO a server sends to each client (per-client fields filled in at send time).
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub proto: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_commit: String,
    pub go: String,
    pub host: String,
    pub port: u16,
    pub headers: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auth_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_verify: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_available: bool,
    pub max_payload: i32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub jetstream: bool,
    #[serde(skip_serializing_if = "is_zero")]
    pub client_id: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    /// Per client: what nkey users sign to authenticate.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ldm: bool,
    /// True in the INFO answering a client's first PING (protocol >= 1).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub connect_info: bool,
    /// The account the client is bound to (with `connect_info`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remote_account: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub acc_is_sys: bool,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// State shared by the listener, every connection and the control API.
#[derive(Debug)]
pub struct ServerShared {
    /// The options in force; a reload swaps them (see [`ServerShared::opts`]).
    opts: parking_lot::RwLock<Arc<Options>>,
    /// Bumped by each reload that changed options, so connections can pick them up.
    opts_gen: AtomicU64,
    /// See [`ServerShared::command_line`].
    command_line: OnceLock<crate::config::cli::FlagSet>,
    /// This server's log sink and debug/trace switches.
    pub logging: Arc<Logging>,
    pub id: String,
    pub name: String,
    /// The accounts; each has its own sublist.
    pub accounts: crate::account::Accounts,
    pub stats: ServerStats,
    pub start: Instant,
    clients: Mutex<HashMap<u64, Arc<Client>>>,
    next_cid: AtomicU64,
    info: Mutex<Info>,
    lame_duck: AtomicBool,
    shutting_down: AtomicBool,
    /// Flips to true when the server begins shutting down; the accept loop watches it.
    shutdown_tx: watch::Sender<bool>,
    /// Signalled once shutdown has completed.
    done: Notify,
    done_flag: AtomicBool,
    client_addr: OnceLock<SocketAddr>,
    /// `tls { connection_rate_limit }`: new TLS connections allowed per second.
    pub tls_rate: Option<Mutex<crate::rate_counter::RateCounter>>,
    /// The monitoring endpoints' state (closed connections, request counts, listener).
    pub monitor: crate::monitor::MonitorState,
    /// System account events and requests (see `crate::events`).
    pub events: crate::events::Events,
    /// JetStream, while it runs.
    jetstream: Mutex<Option<Arc<crate::jetstream::JetStream>>>,
}

impl ServerShared {
    /// JetStream, if it runs.
    pub fn jetstream(&self) -> Option<Arc<crate::jetstream::JetStream>> {
        self.jetstream.lock().clone()
    }

    /// Installs (or, with `None`, takes away) JetStream; returns the one it replaced.
    pub(crate) fn set_jetstream(
        &self,
        js: Option<Arc<crate::jetstream::JetStream>>,
    ) -> Option<Arc<crate::jetstream::JetStream>> {
        std::mem::replace(&mut *self.jetstream.lock(), js)
    }

    /// The options in force (a reload may replace them; hold the `Arc` for a consistent
    /// view).
    pub fn opts(&self) -> Arc<Options> {
        self.opts.read().clone()
    }

    /// Changes each time a reload replaces the options.
    pub fn opts_generation(&self) -> u64 {
        self.opts_gen.load(Ordering::Acquire)
    }

    /// Replaces the options (a reload).
    pub(crate) fn set_opts(&self, opts: Arc<Options>) {
        *self.opts.write() = opts;
        self.bump_opts_generation();
    }

    /// Tells connections to take on the options (and their permissions) again.
    pub(crate) fn bump_opts_generation(&self) {
        self.opts_gen.fetch_add(1, Ordering::AcqRel);
    }

    /// The command line the server was started with, which a reload applies over the
    /// configuration file again.
    pub fn command_line(&self) -> Option<&crate::config::cli::FlagSet> {
        self.command_line.get()
    }

    /// Records the command line (the binary does, once, before serving).
    pub fn set_command_line(&self, flags: crate::config::cli::FlagSet) {
        let _ = self.command_line.set(flags);
    }

    /// Re-reads the configuration file and applies it (SIGHUP, `--signal reload`).
    pub fn reload(self: &Arc<Self>) -> Result<(), crate::reload::ReloadError> {
        crate::reload::reload(self)
    }

    /// Updates the INFO clients get from the options in force (after a reload).
    pub(crate) fn refresh_info(&self) {
        let o = self.opts();
        let advertised = self
            .client_addr()
            .and_then(|a| info_host_port(&o, a.port()).ok());
        let mut info = self.info.lock();
        info.max_payload = o.max_payload;
        info.auth_required = crate::auth::auth_required(&o);
        (info.tls_required, info.tls_verify, info.tls_available) = crate::tls::info_flags(&o);
        // client_advertise may have changed what clients are told to connect to.
        if let Some((host, port)) = advertised {
            (info.host, info.port) = (host, port);
        }
    }

    /// Registers a new connection, or refuses it when over `max_connections`.
    fn register(&self, client: &Arc<Client>) -> bool {
        let mut clients = self.clients.lock();
        // Checked under the registry lock: `shutdown` raises the flag before it takes this
        // lock to close everyone, so a client is either closed by it or never registered.
        if self.is_shutting_down() {
            return false;
        }
        let max = self.opts().max_connections;
        // A negative maximum refuses every connection, as in Go.
        if max < 0 || (max > 0 && clients.len() as i64 >= max) {
            return false;
        }
        clients.insert(client.cid, client.clone());
        self.stats.total_connections.fetch_add(1, Ordering::Relaxed);
        true
    }

    pub fn num_clients(&self) -> usize {
        self.clients.lock().len()
    }

    /// The registered client with this cid.
    pub fn client_by_cid(&self, cid: u64) -> Option<Arc<Client>> {
        self.clients.lock().get(&cid).cloned()
    }

    pub fn clients(&self) -> Vec<Arc<Client>> {
        self.clients.lock().values().cloned().collect()
    }

    /// Subscriptions over every account, as Go's `NumSubscriptions`.
    pub fn num_subscriptions(&self) -> u32 {
        self.accounts.num_subscriptions()
    }

    /// The global account `$G`.
    pub fn global_account(&self) -> &Arc<crate::account::Account> {
        self.accounts.global()
    }

    /// Connections bound to `acc`.
    pub fn num_account_clients(&self, acc: &crate::account::Account) -> usize {
        self.clients
            .lock()
            .values()
            .filter(|c| {
                c.account()
                    .is_some_and(|a| std::ptr::eq(Arc::as_ptr(&a), acc))
            })
            .count()
    }

    pub fn is_lame_duck(&self) -> bool {
        self.lame_duck.load(Ordering::Acquire)
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Handles an accept error of the `name` listener (Go's `acceptError`): after a
    /// temporary error, pauses for `delay` and returns the next, doubled, delay (at most
    /// [`ACCEPT_MAX_SLEEP`]); other errors are logged and `delay` is kept. `None` when the
    /// server is shutting down (also when that happens during the pause): stop accepting.
    pub async fn accept_error(
        &self,
        name: &str,
        err: &io::Error,
        delay: Duration,
    ) -> Option<Duration> {
        let mut stop = self.shutdown_tx.subscribe();
        if self.is_shutting_down() {
            return None;
        }
        if !is_temporary_accept_error(err) {
            crate::error!(self.logging, "{name} Accept error: {err}");
            return Some(delay);
        }
        crate::error!(
            self.logging,
            "Temporary {name} Accept Error({err}), sleeping {}ms",
            delay.as_millis()
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(|down| *down) => return None,
        }
        if self.is_shutting_down() {
            return None;
        }
        Some((delay * 2).min(ACCEPT_MAX_SLEEP))
    }

    /// The address the client listener is bound to, once it is.
    pub fn client_addr(&self) -> Option<SocketAddr> {
        self.client_addr.get().copied()
    }

    /// INFO JSON for one client.
    pub fn info_json_for(&self, client: &Client) -> Vec<u8> {
        self.info_json_with(client, true)
    }

    /// The INFO a new connection gets first: without `client_ip` when `proxy_protocol` is
    /// on, since the socket's peer is then the proxy (as Go).
    pub fn first_info_json_for(&self, client: &Client) -> Vec<u8> {
        self.info_json_with(client, !self.opts().proxy_protocol)
    }

    fn info_json_with(&self, client: &Client, client_ip: bool) -> Vec<u8> {
        let mut info = self.info_for(client);
        if !client_ip {
            info.client_ip.clear();
        }
        if let Some(n) = client.auth.nonce.get() {
            info.nonce = n.clone();
        }
        // A client may connect without credentials as the `no_auth_user`: tell it none
        // are required (the server still expects CONNECT first).
        if !self.opts().no_auth_user.is_empty() {
            info.auth_required = false;
        }
        serde_json::to_vec(&info).unwrap_or_default()
    }

    pub fn info(&self) -> Info {
        self.info.lock().clone()
    }

    /// The server's INFO with the fields every client gets about itself.
    fn info_for(&self, client: &Client) -> Info {
        let mut info = self.info.lock().clone();
        info.client_id = client.cid;
        info.client_ip = client.remote_host().to_string();
        // An in-process client may skip TLS (Go's `iproc`): TLS is available rather than
        // required, unless it did the handshake first.
        if info.tls_required
            && client.auth.connection_type() == crate::auth::ConnectionType::InProcess
            && !client.tls.get().is_some_and(|t| t.first)
        {
            info.tls_required = false;
            info.tls_available = true;
        }
        info
    }

    /// The INFO sent after a client's first PONG (Go's `connect_info` INFO): the server's
    /// INFO plus the account the client is bound to.
    pub fn connect_info_json_for(&self, client: &Client) -> Vec<u8> {
        let mut info = self.info_for(client);
        info.connect_info = true;
        info.remote_account = client.account_name();
        info.acc_is_sys = client
            .account()
            .is_some_and(|a| self.accounts.is_system(&a));
        serde_json::to_vec(&info).unwrap_or_default()
    }

    /// Removes a subscription from the sublist and from its connection.
    pub fn unsubscribe(&self, sub: &SubRef) {
        sub.close();
        let (subject, queue) = sub.sublist_key();
        let _ = sub.account.sublist.remove(&subject, queue.as_deref(), sub);
        let mut subs = sub.client.subs.lock();
        if subs.get(&sub.sid).is_some_and(|s| Arc::ptr_eq(s, &sub.0)) {
            subs.remove(&sub.sid);
        }
    }

    /// Closes a connection once: drops its subscriptions and its registry entry.
    pub fn close_client(&self, client: &Arc<Client>, reason: ClosedState, flush: bool) {
        if !client.mark_closed(reason, flush) {
            return;
        }
        self.monitor.save_closed_client(client, reason);
        let subs: Vec<SubRef> = client.subs.lock().drain().map(|(_, s)| SubRef(s)).collect();
        for s in &subs {
            s.close();
        }
        let keys: Vec<_> = subs.iter().map(|s| s.sublist_key()).collect();
        // A connection's subscriptions are normally all in one account; removing them
        // account by account keeps that one batch.
        let mut accounts: Vec<&Arc<crate::account::Account>> = Vec::new();
        for s in &subs {
            if !accounts.iter().any(|a| Arc::ptr_eq(a, &s.account)) {
                accounts.push(&s.account);
            }
        }
        for acc in accounts {
            let _ = acc.sublist.remove_batch(
                keys.iter()
                    .zip(subs.iter())
                    .filter(|(_, s)| Arc::ptr_eq(&s.account, acc))
                    .map(|((subj, q), s)| (subj.as_ref(), q.as_deref(), s)),
            );
        }
        self.clients.lock().remove(&client.cid);
        crate::events::client_closed(self, client, reason);
        crate::debug!(
            self.logging,
            "{} - Client connection closed: {}",
            client.label(),
            reason
        );
    }

    /// Starts shutting down: stop accepting, close every client.
    pub fn shutdown(&self) {
        if self.shutting_down.swap(true, Ordering::AcqRel) {
            return;
        }
        crate::notice!(self.logging, "Initiating Shutdown...");
        let _ = self.shutdown_tx.send(true);
        self.monitor.stop();
        crate::events::shutdown(self);
        crate::jetstream::shutdown(self);
        for c in self.clients() {
            self.close_client(&c, ClosedState::ServerShutdown, true);
        }
        if let Some(dir) = &self.opts().ports_file_dir {
            let _ = std::fs::remove_file(ports_file_path(dir));
        }
        crate::notice!(self.logging, "Server Exiting..");
        self.done_flag.store(true, Ordering::Release);
        self.done.notify_waiters();
    }

    /// Waits until `shutdown` has completed.
    pub async fn wait_for_shutdown(&self) {
        loop {
            let notified = self.done.notified();
            if self.done_flag.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    /// Lame duck mode: stop accepting, tell clients (INFO with `ldm`), then close them
    /// spread over `lame_duck_duration` after `lame_duck_grace_period`, then shut down.
    pub async fn lame_duck(self: &Arc<Self>) {
        if self.is_shutting_down() || self.lame_duck.swap(true, Ordering::AcqRel) {
            return;
        }
        crate::notice!(
            self.logging,
            "Entering lame duck mode, stop accepting new clients"
        );
        // Stop accepting: the accept loop exits on this.
        let _ = self.shutdown_tx.send(true);
        crate::events::lame_duck(self);
        let clients = self.clients();
        if clients.is_empty() {
            self.shutdown();
            return;
        }
        self.info.lock().ldm = true;
        // Only clients that understand async INFO are told (Go's sendAsyncInfoToClients).
        for c in clients.iter().filter(|c| c.accepts_async_info()) {
            let mut b = BytesMut::new();
            encode::info(&mut b, &self.info_json_for(c));
            c.send_proto(&b);
        }
        let grace = self.opts().lame_duck_grace_period;
        let mut dur = self.opts().lame_duck_duration.saturating_sub(grace);
        if dur.is_zero() {
            dur = Duration::from_secs(1);
        }
        let step =
            (dur / clients.len() as u32).clamp(Duration::from_nanos(1), Duration::from_secs(1));
        tokio::time::sleep(grace).await;
        crate::notice!(self.logging, "Closing existing clients");
        for (i, c) in clients.iter().enumerate() {
            if self.is_shutting_down() && self.done_flag.load(Ordering::Acquire) {
                return;
            }
            self.close_client(c, ClosedState::ServerShutdown, true);
            if i + 1 < clients.len() {
                let half = step / 2;
                let jitter = rand::random::<f64>() * half.as_secs_f64();
                tokio::time::sleep(half + Duration::from_secs_f64(jitter)).await;
            }
        }
        self.shutdown();
    }
}

/// A running server.
#[derive(Debug, Clone)]
pub struct Server {
    shared: Arc<ServerShared>,
}

impl Server {
    /// Builds a server from options, logging as the options say (nothing with `no_log`);
    /// nothing is bound yet.
    pub fn new(opts: Options) -> io::Result<Server> {
        let logging = Arc::new(Logging::new());
        if !opts.no_log {
            logging.configure(&LogConfig::from_options(&opts))?;
        }
        Server::with_logging(opts, logging)
    }

    /// Go's `NewServerFromConfig`: loads `opts.config_file` over `opts` when it has not
    /// been loaded yet (no digest), then builds the server as [`Server::new`] does.
    pub fn new_from_config(mut opts: Options) -> io::Result<Server> {
        if let Some(path) = opts.config_file.clone() {
            if opts.config_digest.is_empty() {
                crate::config::file::apply_config_file(&mut opts, &path.to_string_lossy())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
            }
        }
        Server::new(opts)
    }

    /// Builds a server that logs through `logging` (the binary passes the process-wide one).
    pub fn with_logging(mut opts: Options, logging: Arc<Logging>) -> io::Result<Server> {
        crate::tls::baseline_timeouts(&mut opts);
        let id = nkeys::KeyPair::new_server().public_key();
        let name = if opts.server_name.is_empty() {
            id.clone()
        } else {
            opts.server_name.clone()
        };
        validate_options(&opts).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        crate::auth::normalize_connection_types(&mut opts);
        let info = Info {
            server_id: id.clone(),
            server_name: name.clone(),
            version: crate::VERSION.to_string(),
            proto: crate::PROTO,
            git_commit: crate::util::git_commit().unwrap_or_default().to_string(),
            go: format!("natsd {}", crate::NATSD_VERSION),
            host: opts.host.clone(),
            port: 0,
            headers: !opts.no_header_support,
            auth_required: crate::auth::auth_required(&opts),
            // Go's INFO: TLS required unless plain clients are allowed too.
            tls_required: opts.tls_config.is_some() && !opts.allow_non_tls,
            tls_verify: opts.tls_config.as_ref().is_some_and(|t| t.verify),
            tls_available: opts.tls_config.is_some() && opts.allow_non_tls,
            max_payload: opts.max_payload,
            jetstream: opts.jetstream,
            client_id: 0,
            client_ip: String::new(),
            connect_urls: Vec::new(),
            ldm: false,
            connect_info: false,
            remote_account: String::new(),
            acc_is_sys: false,
            nonce: String::new(),
        };
        let monitor = crate::monitor::MonitorState::new(opts.max_closed_clients);
        let accounts = crate::account::Accounts::from_options(&opts)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let (shutdown_tx, _) = watch::channel(false);
        let tls_rate = (opts.tls_config.is_some() && opts.tls_rate_limit > 0).then(|| {
            Mutex::new(crate::rate_counter::RateCounter::new(
                opts.tls_rate_limit.unsigned_abs(),
            ))
        });
        Ok(Server {
            shared: Arc::new(ServerShared {
                opts: parking_lot::RwLock::new(Arc::new(opts)),
                opts_gen: AtomicU64::new(0),
                command_line: OnceLock::new(),
                logging,
                id,
                name,
                accounts,
                stats: ServerStats::default(),
                start: Instant::now(),
                clients: Mutex::new(HashMap::new()),
                next_cid: AtomicU64::new(1),
                info: Mutex::new(info),
                lame_duck: AtomicBool::new(false),
                shutting_down: AtomicBool::new(false),
                shutdown_tx,
                done: Notify::new(),
                done_flag: AtomicBool::new(false),
                client_addr: OnceLock::new(),
                tls_rate,
                monitor,
                events: crate::events::Events::new(),
                jetstream: Mutex::new(None),
            }),
        })
    }

    pub fn shared(&self) -> &Arc<ServerShared> {
        &self.shared
    }

    /// Logs the banner, binds the client listener and starts accepting. Returns once the
    /// server is ready ("Server is ready" has been logged).
    pub async fn start(&self) -> io::Result<SocketAddr> {
        let s = &self.shared;
        let opts = &s.opts();
        // Shut down before it started: no listener, nothing to serve (as in Go).
        if s.is_shutting_down() {
            return Err(io::Error::other("server is shutting down"));
        }
        crate::notice!(s.logging, "Starting nats-server");
        crate::notice!(s.logging, "  Version:  {}", crate::VERSION);
        crate::notice!(
            s.logging,
            "  Git:      [{}]",
            crate::util::git_commit().unwrap_or("not set")
        );
        crate::notice!(s.logging, "  Name:     {}", s.name);
        crate::notice!(s.logging, "  ID:       {}", s.id);
        for line in
            crate::feature_flags::startup_lines(crate::feature_flags::DEFAULTS, &opts.feature_flags)
        {
            crate::notice!(s.logging, "{line}");
        }
        if crate::auth::has_plaintext_passwords(opts) {
            crate::warn!(
                s.logging,
                "Plaintext passwords detected, use nkeys or bcrypt"
            );
        }
        if let Some(file) = &opts.config_file {
            // Go prints the digest in parentheses, or nothing after the space.
            let digest = if opts.config_digest.is_empty() {
                String::new()
            } else {
                format!("({})", opts.config_digest)
            };
            crate::notice!(
                s.logging,
                "Using configuration file: {} {digest}",
                file.display()
            );
        }
        if let Some(pid_file) = &opts.pid_file {
            write_pid_file(pid_file)?;
        }
        // Monitoring starts first, so the server can be watched while it starts (as Go).
        if opts.http_port != 0 || opts.https_port != 0 {
            crate::monitor::start(s)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("Can't start monitoring: {e}")))?;
        }
        crate::jetstream::start(s).map_err(io::Error::other)?;
        let port = listen_port(opts.port)?;
        let hp = join_host_port(&opts.host, port);
        let (listener, addr) = bind_client_listener(&opts.host, port, &hp)
            .await
            .map_err(|e| {
                io::Error::new(e.kind(), format!("Error listening on port: {hp}, \"{e}\""))
            })?;
        crate::notice!(
            s.logging,
            "Listening for client connections on {}",
            join_host_port(&opts.host, addr.port())
        );
        if opts.proxy_protocol {
            crate::notice!(s.logging, "PROXY protocol enabled for client connections");
        }
        if opts.tls_config.is_some() {
            // TLS first without a fallback always requires the handshake.
            let tls_first_only =
                opts.tls_handshake_first && opts.tls_handshake_first_fallback.is_zero();
            if opts.allow_non_tls && !tls_first_only {
                crate::notice!(s.logging, "TLS available for client connections");
            } else {
                crate::notice!(s.logging, "TLS required for client connections");
            }
            if tls_first_only {
                crate::warn!(
                    s.logging,
                    "Clients that are not using \"TLS Handshake First\" option will fail to connect"
                );
            }
        }
        let _ = s.client_addr.set(addr);
        let (info_host, info_port) = info_host_port(opts, addr.port())?;
        {
            let mut info = s.info.lock();
            info.host = info_host;
            info.port = info_port;
        }
        if let Some(dir) = &opts.ports_file_dir {
            write_ports_file(dir, &opts.host, addr.port(), s.monitor.addr())?;
        }
        if s.tls_rate.is_some() {
            tokio::spawn(client::tls_conn::log_rejected_tls_conns(s.clone()));
        }
        crate::events::start(s);
        tokio::spawn(accept_loop(s.clone(), listener));
        crate::notice!(s.logging, "Server is ready");
        Ok(addr)
    }

    pub fn shutdown(&self) {
        self.shared.shutdown();
    }

    pub async fn wait_for_shutdown(&self) {
        self.shared.wait_for_shutdown().await
    }

    pub async fn lame_duck(&self) {
        self.shared.lame_duck().await
    }

    pub fn client_addr(&self) -> Option<SocketAddr> {
        self.shared.client_addr()
    }

    /// The address the monitoring listener is bound to, if monitoring runs.
    pub fn monitor_addr(&self) -> Option<SocketAddr> {
        self.shared.monitor.addr()
    }

    /// The URL clients connect to, from the configured host and port (Go's `ClientURL`).
    pub fn client_url(&self) -> String {
        let o = &self.shared.opts();
        let scheme = if o.tls { "tls" } else { "nats" };
        let host = if o.host.contains(':') {
            format!("[{}]", o.host)
        } else {
            o.host.clone()
        };
        format!("{scheme}://{host}:{}", o.port)
    }
}

/// First pause after a temporary accept error; it doubles on each consecutive one.
pub const ACCEPT_MIN_SLEEP: Duration = Duration::from_millis(10);
/// Longest pause after temporary accept errors.
pub const ACCEPT_MAX_SLEEP: Duration = Duration::from_secs(1);

async fn accept_loop(s: Arc<ServerShared>, listener: TcpListener) {
    let mut stop = s.shutdown_tx.subscribe();
    let mut delay = ACCEPT_MIN_SLEEP;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    delay = ACCEPT_MIN_SLEEP;
                    accept(&s, stream, peer);
                }
                Err(e) => match s.accept_error("Client", &e, delay).await {
                    Some(d) => delay = d,
                    None => return,
                },
            }
        }
    }
}

/// Writes this process's id to `path`.
pub fn write_pid_file(path: &std::path::Path) -> io::Result<()> {
    std::fs::write(path, std::process::id().to_string())
        .map_err(|e| io::Error::new(e.kind(), format!("Could not write pidfile: {e}")))
}

/// Accept errors worth retrying after a pause (Go's `net.Error.Temporary`): interrupted
/// calls, aborted or reset connections, and running out of file descriptors.
pub fn is_temporary_accept_error(e: &io::Error) -> bool {
    use nix::errno::Errno;
    if matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return true;
    }
    e.raw_os_error().is_some_and(|code| {
        [Errno::EMFILE, Errno::ENFILE, Errno::ENOBUFS, Errno::ENOMEM]
            .iter()
            .any(|errno| *errno as i32 == code)
    })
}

/// A new connection's shared state: bound to `$G`, with its write policy and nonce.
fn create_client(s: &Arc<ServerShared>, peer: SocketAddr) -> Arc<Client> {
    let cid = s.next_cid.fetch_add(1, Ordering::Relaxed);
    let max_pending = usize::try_from(s.opts().max_pending).unwrap_or(usize::MAX);
    let client = Arc::new(Client::new(
        cid,
        peer.ip().to_canonical().to_string(),
        peer.port(),
        max_pending,
    ));
    client.bind_account(s.global_account().clone());
    crate::debug!(s.logging, "{} - Client connection created", client.label());
    client.set_write_timeout_policy(s.opts().write_timeout.for_client());
    if crate::auth::nonce_required(&s.opts()) {
        let _ = client.auth.nonce.set(crate::auth::new_nonce());
    }
    client
}

/// Refuses a connection over `max_connections` (or during shutdown), as Go does.
fn refuse(s: &Arc<ServerShared>, client: &Arc<Client>) {
    if !s.is_shutting_down() && !s.is_lame_duck() {
        crate::error!(
            s.logging,
            "{} - maximum connections exceeded",
            client.label()
        );
        client.send_err("maximum connections exceeded");
        // Go keeps refused clients among the closed connections too.
        s.monitor
            .save_closed_client(client, ClosedState::MaxConnectionsExceeded);
    }
    client.mark_closed(ClosedState::MaxConnectionsExceeded, true);
}

impl ServerShared {
    /// Serves a client over any byte stream, as if it had connected to the listener
    /// (plain protocol: no TLS, no PROXY header). For embedding, and for tests that need a
    /// socket that writes short or stalls. Must be called inside the server's runtime.
    /// Returns the client's id.
    pub fn accept_stream<S>(self: &Arc<Self>, stream: S, peer: SocketAddr) -> u64
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    {
        let client = create_client(self, peer);
        let mut b = BytesMut::new();
        encode::info(&mut b, &self.first_info_json_for(&client));
        client.send_proto(&b);
        if self.is_shutting_down() || self.is_lame_duck() || !self.register(&client) {
            refuse(self, &client);
        }
        let cid = client.cid;
        tokio::spawn(client::run_stream(self.clone(), stream, client));
        cid
    }

    /// A client connection inside the process (Go's `InProcessConn`): returns the client's
    /// end of an in-memory stream whose other end the server serves as a client of
    /// connection type `IN_PROCESS` (TLS optional, see [`crate::tls::in_process`]). Must be
    /// called inside the server's runtime.
    pub fn in_process_conn(self: &Arc<Self>) -> tokio::io::DuplexStream {
        let (client_end, server_end) = tokio::io::duplex(64 * 1024);
        self.accept_in_process(server_end);
        client_end
    }

    /// Serves `stream` as an in-process client (see [`ServerShared::in_process_conn`]);
    /// returns the client's id. Must be called inside the server's runtime.
    pub fn accept_in_process<S>(self: &Arc<Self>, stream: S) -> u64
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let peer = SocketAddr::from(([0, 0, 0, 0], 0));
        let client = create_client(self, peer);
        let _ = client
            .auth
            .conn_type
            .set(crate::auth::ConnectionType::InProcess);
        let mut b = BytesMut::new();
        encode::info(&mut b, &self.first_info_json_for(&client));
        let tls_first = self.opts().tls_config.is_some() && self.opts().tls_handshake_first;
        if !tls_first {
            client.send_proto(&b);
        }
        if self.is_shutting_down() || self.is_lame_duck() || !self.register(&client) {
            if tls_first {
                client.send_proto(&b);
            }
            refuse(self, &client);
        }
        let cid = client.cid;
        tokio::spawn(client::tls_conn::run_in_process(
            self.clone(),
            stream,
            client,
        ));
        cid
    }

    /// Serves a TCP connection exactly as the listener would (TLS and PROXY header
    /// included): for tests that hand over a connection already broken. Must be called
    /// inside the server's runtime.
    pub fn accept_tcp(self: &Arc<Self>, stream: tokio::net::TcpStream, peer: SocketAddr) {
        accept(self, stream, peer);
    }
}

fn accept(s: &Arc<ServerShared>, stream: tokio::net::TcpStream, peer: SocketAddr) {
    let client = create_client(s, peer);
    // INFO goes first, as in Go, so even a refused client learns who it talked to. With
    // `proxy_protocol`, an accepted client's INFO is written before its PROXY header is read.
    let mut b = BytesMut::new();
    encode::info(&mut b, &s.first_info_json_for(&client));
    // On a TLS listener, the TLS path reads the PROXY header (before any handshake).
    let proxy_protocol = s.opts().proxy_protocol && s.opts().tls_config.is_none();
    // With `handshake_first`, INFO waits for the TLS handshake.
    let tls_first = s.opts().tls_config.is_some() && s.opts().tls_handshake_first;
    if !proxy_protocol && !tls_first {
        client.send_proto(&b);
    }
    if s.is_shutting_down() || s.is_lame_duck() || !s.register(&client) {
        if proxy_protocol || tls_first {
            client.send_proto(&b);
        }
        refuse(s, &client);
    } else if proxy_protocol {
        tokio::spawn(crate::proxyproto::conn::accept(
            s.clone(),
            stream,
            client,
            b.freeze(),
        ));
        return;
    }
    if let Some(cfg) = &s.opts().tls_config {
        let cfg = cfg.clone();
        tokio::spawn(client::tls_conn::run_tls_connection(
            s.clone(),
            stream,
            client,
            cfg,
        ));
        return;
    }
    tokio::spawn(client::run_connection(s.clone(), stream, client));
}

/// The port to bind for the configured client port: `0` means the default port and
/// [`RANDOM_PORT`](crate::config::options::RANDOM_PORT) (`-1`) lets the OS pick one, as in Go.
pub fn listen_port(configured: i32) -> io::Result<u16> {
    match configured {
        0 => Ok(crate::config::options::DEFAULT_PORT),
        crate::config::options::RANDOM_PORT => Ok(0),
        p => u16::try_from(p)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("invalid port {p}"))),
    }
}

/// Host and port INFO advertises to clients: `client_advertise` when set (its port
/// defaulting to the one bound), else the listen host and the bound port.
pub fn info_host_port(opts: &Options, bound_port: u16) -> io::Result<(String, u16)> {
    if opts.client_advertise.is_empty() {
        return Ok((opts.host.clone(), bound_port));
    }
    crate::util::parse_host_port(&opts.client_advertise, i32::from(bound_port))
        .and_then(|(host, port)| {
            u16::try_from(port)
                .map(|port| (host, port))
                .map_err(|_| format!("port {port} out of range"))
        })
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "Error setting server INFO with ClientAdvertise value of {}, err={e}",
                    opts.client_advertise
                ),
            )
        })
}

/// Checks options that cannot work together, as nats-server's `validateOptions` does for
/// the features natsd has. Errors carry Go's texts.
pub fn validate_options(o: &Options) -> Result<(), String> {
    use crate::config::conf::duration::format_duration;
    crate::config::jetstream::validate_options(o)?;
    let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    if !o.lame_duck_duration.is_zero() && o.lame_duck_grace_period >= o.lame_duck_duration {
        return Err(format!(
            "lame duck grace period ({}) should be strictly lower than lame duck duration ({})",
            format_duration(nanos(o.lame_duck_grace_period)),
            format_duration(nanos(o.lame_duck_duration))
        ));
    }
    if i64::from(o.max_payload) > o.max_pending {
        return Err(format!(
            "max_payload ({}) cannot be higher than max_pending ({})",
            o.max_payload, o.max_pending
        ));
    }
    if o.server_name.contains(' ') {
        return Err("server name cannot contain spaces".to_string());
    }
    crate::auth::validate_auth(o)?;
    Ok(())
}

/// Binds the client listener; returns it and the address to report. For the IPv4
/// wildcard (or no host) Go listens on IPv6 too, with one `[::]` socket that also takes
/// IPv4 clients; natsd does the same (reporting the address as `0.0.0.0`), and falls back
/// to IPv4 alone where IPv6 is unavailable.
async fn bind_client_listener(
    host: &str,
    port: u16,
    host_port: &str,
) -> io::Result<(TcpListener, SocketAddr)> {
    if host == "0.0.0.0" || host.is_empty() {
        if let Ok(l) = bind_dual_stack(port) {
            let local = l.local_addr()?;
            let addr = SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), local.port());
            return Ok((l, addr));
        }
    }
    let l = TcpListener::bind(host_port).await?;
    let addr = l.local_addr()?;
    Ok((l, addr))
}

/// A listener on `[::]:port` that accepts IPv4 too (IPv6-only off, address reuse on, as
/// Go's and tokio's listeners have it).
fn bind_dual_stack(port: u16) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP))?;
    sock.set_only_v6(false)?;
    sock.set_reuse_address(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), port).into())?;
    sock.listen(1024)?;
    TcpListener::from_std(sock.into())
}

/// `host:port`, with brackets around IPv6 hosts, like Go's `net.JoinHostPort`.
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `<exe>_<pid>.ports` in `dir`, as Go names it.
pub fn ports_file_path(dir: &std::path::Path) -> PathBuf {
    let exe = std::env::args()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "natsd".to_string());
    dir.join(format!("{exe}_{}.ports", std::process::id()))
}

pub(crate) fn write_ports_file(
    dir: &std::path::Path,
    host: &str,
    port: u16,
    monitor: Option<SocketAddr>,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Ports {
        nats: Vec<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        monitoring: Vec<String>,
    }
    let resolve = |host: &str| -> Vec<String> {
        if host == "0.0.0.0" || host == "::" || host.is_empty() {
            let mut v: Vec<String> = if_addrs::get_if_addrs()
                .map(|ifs| ifs.into_iter().map(|i| i.ip().to_string()).collect())
                .unwrap_or_default();
            if v.is_empty() {
                v.push("127.0.0.1".to_string());
            }
            v
        } else {
            vec![host.to_string()]
        }
    };
    let urls = |scheme: &str, host: &str, port: u16| -> Vec<String> {
        resolve(host)
            .iter()
            .map(|h| format!("{scheme}://{}", join_host_port(h, port)))
            .collect()
    };
    let ports = Ports {
        nats: urls("nats", host, port),
        monitoring: monitor
            .map(|a| urls("http", &a.ip().to_string(), a.port()))
            .unwrap_or_default(),
    };
    let data = serde_json::to_vec(&ports).map_err(io::Error::other)?;
    std::fs::write(ports_file_path(dir), data)
}

/// A server running on its own runtime thread; for tests and embedding.
#[derive(Debug)]
pub struct BackgroundServer {
    pub server: Server,
    pub addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BackgroundServer {
    /// Starts a server on a fresh multi-threaded runtime and waits until it is ready.
    /// Callable from inside another runtime (the start runs on a helper thread).
    pub fn start(opts: Options) -> io::Result<BackgroundServer> {
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let server = Server::new(opts)?;
            let addr = runtime.block_on(server.start())?;
            Ok(BackgroundServer {
                server,
                addr,
                runtime: Some(runtime),
            })
        })
        .join()
        .map_err(|_| io::Error::other("server start panicked"))?
    }

    pub fn shared(&self) -> &Arc<ServerShared> {
        self.server.shared()
    }

    /// Tasks still alive on the server's runtime: the listener and each connection's reader
    /// and writer. Zero once a shutdown has wound everything down; zero after the runtime
    /// itself is stopped.
    pub fn alive_tasks(&self) -> usize {
        self.runtime
            .as_ref()
            .map_or(0, |rt| rt.metrics().num_alive_tasks())
    }

    /// A client connection inside the process (see [`ServerShared::in_process_conn`]).
    pub fn in_process_conn(&self) -> io::Result<tokio::io::DuplexStream> {
        let rt = self
            .runtime
            .as_ref()
            .ok_or_else(|| io::Error::other("server is shut down"))?;
        let _guard = rt.enter();
        Ok(self.shared().in_process_conn())
    }

    /// Runs a future on the server's runtime (e.g. lame duck).
    pub fn spawn<F>(&self, f: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        if let Some(rt) = &self.runtime {
            rt.spawn(f);
        }
    }

    /// Shuts the server down and stops its runtime. From inside another runtime the stop
    /// cannot block, so the runtime is left to wind down in the background.
    pub fn shutdown(&mut self) {
        self.server.shutdown();
        if let Some(rt) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;

    #[tokio::test]
    async fn ipv4_wildcard_listens_on_ipv6_too() {
        let (l, addr) = bind_client_listener("0.0.0.0", 0, "0.0.0.0:0")
            .await
            .unwrap();
        assert!(addr.ip().is_unspecified() && addr.is_ipv4());
        let v4 = std::net::TcpStream::connect(("127.0.0.1", addr.port()));
        assert!(v4.is_ok());
        if std::net::TcpListener::bind(("::1", 0)).is_ok() {
            assert!(std::net::TcpStream::connect(("::1", addr.port())).is_ok());
        }
        drop(l);
        // A specific host binds just that.
        let (_l, addr) = bind_client_listener("127.0.0.1", 0, "127.0.0.1:0")
            .await
            .unwrap();
        assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
    }

    #[test]
    fn validate_options_like_go() {
        let mut o = Options {
            lame_duck_duration: Duration::from_secs(5),
            lame_duck_grace_period: Duration::from_secs(10),
            ..Options::default()
        };
        assert_eq!(
            validate_options(&o).unwrap_err(),
            "lame duck grace period (10s) should be strictly lower than lame duck duration (5s)"
        );
        o.lame_duck_grace_period = Duration::from_secs(5);
        assert!(validate_options(&o).is_err());
        o.lame_duck_grace_period = Duration::from_millis(4999);
        assert_eq!(validate_options(&o), Ok(()));
        o.max_pending = i64::from(o.max_payload) - 1;
        assert!(validate_options(&o)
            .unwrap_err()
            .starts_with("max_payload (1048576) cannot be higher than max_pending"));
        o.max_pending = i64::from(o.max_payload);
        o.server_name = "a b".to_string();
        assert_eq!(
            validate_options(&o).unwrap_err(),
            "server name cannot contain spaces"
        );
    }

    #[test]
    fn temporary_accept_errors() {
        use nix::errno::Errno;
        assert!(is_temporary_accept_error(&io::Error::from_raw_os_error(
            Errno::EMFILE as i32
        )));
        assert!(is_temporary_accept_error(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
        assert!(!is_temporary_accept_error(&io::Error::other("any error")));
    }

    #[test]
    fn banner_names_the_config_file() {
        let logging = Arc::new(Logging::new());
        let cap = Arc::new(crate::logging::CaptureLogger::retaining());
        logging.set_logger(Some(cap.clone()), false, false);
        let server = Server::with_logging(
            Options {
                host: "127.0.0.1".to_string(),
                port: -1,
                config_file: Some(PathBuf::from("/tmp/x.conf")),
                config_digest: "sha256:ab".to_string(),
                ..Options::default()
            },
            logging,
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(server.start()).unwrap();
        server.shutdown();
        assert_eq!(
            cap.containing("Using configuration file"),
            vec!["Using configuration file: /tmp/x.conf (sha256:ab)".to_string()]
        );
    }

    #[test]
    fn negative_max_connections_refuses_all() {
        let server = Server::new(Options {
            no_log: true,
            max_connections: -1,
            ..Options::default()
        })
        .unwrap();
        let c = Arc::new(Client::new(1, "127.0.0.1".to_string(), 1, 1024));
        assert!(!server.shared().register(&c));
        assert_eq!(server.shared().num_clients(), 0);
    }

    #[test]
    fn start_after_shutdown_does_not_listen() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = Server::new(Options {
            no_log: true,
            host: "127.0.0.1".to_string(),
            port: -1,
            ..Options::default()
        })
        .unwrap();
        server.shutdown();
        assert!(rt.block_on(server.start()).is_err());
        assert_eq!(server.client_addr(), None);
    }

    #[test]
    fn client_url_brackets_ipv6() {
        let url = |host: &str| {
            Server::new(Options {
                no_log: true,
                host: host.to_string(),
                port: 12345,
                ..Options::default()
            })
            .unwrap()
            .client_url()
        };
        assert_eq!(url("host.com"), "nats://host.com:12345");
        assert_eq!(url("2000::1"), "nats://[2000::1]:12345");
    }

    #[test]
    fn listen_port_zero_is_default_and_minus_one_is_random() {
        assert_eq!(listen_port(0).unwrap(), 4222);
        assert_eq!(listen_port(-1).unwrap(), 0);
        assert_eq!(listen_port(4333).unwrap(), 4333);
        assert!(listen_port(-2).is_err());
        assert!(listen_port(70000).is_err());
    }

    #[test]
    fn no_registration_once_shutting_down() {
        let opts = Options {
            no_log: true,
            ..Options::default()
        };
        let server = Server::new(opts).unwrap();
        let s = server.shared();
        let c1 = Arc::new(Client::new(1, "127.0.0.1".to_string(), 1, 1024));
        assert!(s.register(&c1));
        assert_eq!(s.num_clients(), 1);
        s.shutdown();
        assert_eq!(s.num_clients(), 0);
        let c2 = Arc::new(Client::new(2, "127.0.0.1".to_string(), 2, 1024));
        assert!(!s.register(&c2));
        assert_eq!(s.num_clients(), 0);
    }

    #[test]
    fn info_advertises_client_advertise() {
        let mut o = Options {
            host: "127.0.0.1".to_string(),
            ..Options::default()
        };
        assert_eq!(
            info_host_port(&o, 5000).unwrap(),
            ("127.0.0.1".to_string(), 5000)
        );
        o.client_advertise = "me:1".to_string();
        assert_eq!(info_host_port(&o, 5000).unwrap(), ("me".to_string(), 1));
        o.client_advertise = "me".to_string();
        assert_eq!(info_host_port(&o, 5000).unwrap(), ("me".to_string(), 5000));
        o.client_advertise = "a:b:c".to_string();
        assert!(info_host_port(&o, 5000).is_err());
    }
}
