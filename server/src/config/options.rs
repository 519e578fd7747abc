//! Typed server options with nats-server's defaults.

use std::path::PathBuf;
use std::time::Duration;

/// Default client port.
pub const DEFAULT_PORT: u16 = 4222;
/// Sentinel used on the command line (`-p -1`) for "pick a random free port".
pub const RANDOM_PORT: i32 = -1;
pub const DEFAULT_HOST: &str = "0.0.0.0";
pub const MAX_CONTROL_LINE: usize = 4096;
pub const MAX_PAYLOAD: usize = 1024 * 1024;
pub const MAX_PENDING: usize = 64 * 1024 * 1024;
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(2 * 60);
pub const DEFAULT_PING_MAX_OUT: u32 = 2;
pub const DEFAULT_WRITE_DEADLINE: Duration = Duration::from_secs(10);
pub const DEFAULT_AUTH_TIMEOUT: Duration = Duration::from_secs(2);
pub const DEFAULT_LAME_DUCK_DURATION: Duration = Duration::from_secs(2 * 60);
pub const DEFAULT_LAME_DUCK_GRACE_PERIOD: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_CONNECTIONS: i64 = 64 * 1024;
pub const DEFAULT_MAX_CLOSED_CLIENTS: usize = 10_000;
pub const DEFAULT_CONNECT_ERROR_REPORTS: i64 = 3600;
pub const DEFAULT_RECONNECT_ERROR_REPORTS: i64 = 1;

/// All options the server runs with. Fields mirror Go's `server.Options`.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_file: Option<PathBuf>,
    pub server_name: String,
    pub host: String,
    /// Client port; `-1` means random (resolved at listen time), `0` means default.
    pub port: i32,
    pub client_advertise: String,
    pub no_log: bool,
    pub no_sigs: bool,
    pub trace: bool,
    pub trace_verbose: bool,
    pub debug: bool,
    pub logtime: bool,
    pub logtime_utc: bool,
    pub log_file: Option<PathBuf>,
    pub log_size_limit: i64,
    pub max_traced_msg_len: usize,
    /// `trace_headers`: trace only the header block of messages.
    pub trace_headers: bool,
    pub syslog: bool,
    pub remote_syslog: String,
    pub pid_file: Option<PathBuf>,
    pub ports_file_dir: Option<PathBuf>,
    pub max_connections: i64,
    pub max_subs: i64,
    /// `max_sub_tokens`: the most tokens a subscription's subject may have (0: no limit).
    pub max_sub_tokens: u8,
    pub max_control_line: i32,
    pub max_payload: i32,
    pub max_pending: i64,
    pub ping_interval: Duration,
    pub max_pings_out: u32,
    pub write_deadline: Duration,
    /// What a client connection does when a write misses `write_deadline`.
    pub write_timeout: WriteTimeoutPolicy,
    pub auth_timeout: Duration,
    pub lame_duck_duration: Duration,
    pub lame_duck_grace_period: Duration,
    pub max_closed_clients: usize,
    pub no_header_support: bool,
    pub disable_short_first_ping: bool,
    pub http_host: String,
    pub http_port: i32,
    pub https_port: i32,
    /// `http_base_path`: prefix of every monitoring endpoint.
    pub http_base_path: String,
    /// `server_metadata`: shown in `/varz`.
    pub metadata: std::collections::BTreeMap<String, String>,
    /// `feature_flags`: overrides of the server's feature flags.
    pub feature_flags: std::collections::BTreeMap<String, bool>,
    pub jetstream: bool,
    pub store_dir: Option<PathBuf>,
    /// `jetstream { strict }`: the JetStream API refuses unknown JSON fields (Go's
    /// `!NoJetStreamStrict`; on by default).
    pub jetstream_strict: bool,
    /// `jetstream { max_memory_store }`: bytes for memory streams; negative (and a zero
    /// not set by the config file) means 75% of the machine's memory.
    pub jetstream_max_memory: i64,
    /// The config file set `max_memory_store`, so a zero is meant (Go's `maxMemSet`).
    pub jetstream_max_memory_set: bool,
    /// `jetstream { max_file_store }`: bytes for file streams; negative (and a zero not
    /// set by the config file) means 75% of the disk space available at the store.
    pub jetstream_max_store: i64,
    /// The config file set `max_file_store` (Go's `maxStoreSet`).
    pub jetstream_max_store_set: bool,
    /// `jetstream { domain }`.
    pub jetstream_domain: String,
    /// `jetstream { extension_hint }`.
    pub jetstream_ext_hint: String,
    /// `jetstream { key }`: encrypts the stores at rest when set.
    pub jetstream_key: String,
    /// `jetstream { prev_key }`: the key the stores were encrypted with before `key`.
    pub jetstream_old_key: String,
    /// `jetstream { cipher }` (Go's zero value, ChaCha20-Poly1305, when unset).
    pub jetstream_cipher: natsd_store::file::StoreCipher,
    /// `jetstream { unique_tag }`, trimmed and lower-cased.
    pub jetstream_unique_tag: String,
    /// `jetstream { limits { ... } }`: server-wide limits on streams and consumers.
    pub jetstream_limits: crate::config::jetstream::JsLimitOpts,
    /// `jetstream { tpm { ... } }` (TPM-sealed keys; Windows only in nats-server).
    pub jetstream_tpm: crate::config::jetstream::JsTpmOpts,
    /// `jetstream { max_outstanding_catchup }`: bytes in flight while catching up a
    /// replica (0: the default, 64 MiB).
    pub jetstream_max_catchup: i64,
    /// `jetstream { request_queue_limit }`: queued `$JS.API` requests before dropping.
    pub jetstream_request_queue_limit: i64,
    /// `jetstream { info_queue_limit }` (0: the same as `request_queue_limit`).
    pub jetstream_info_queue_limit: i64,
    /// `jetstream { meta_compact }`: entries before the meta log is compacted.
    pub jetstream_meta_compact: u64,
    /// `jetstream { meta_compact_size }`: bytes before the meta log is compacted.
    pub jetstream_meta_compact_size: u64,
    /// `jetstream { meta_compact_sync }`.
    pub jetstream_meta_compact_sync: bool,
    /// `jetstream { max_concurrent_io }`: disk operations at once (4..8192).
    pub jetstream_concurrent_ios: i64,
    /// `jetstream { max_buffered_msgs }`: messages a stream buffers before ingest.
    pub stream_max_buffered_msgs: i64,
    /// `jetstream { max_buffered_size }`: bytes a stream buffers before ingest.
    pub stream_max_buffered_size: i64,
    /// `jetstream { sync_interval }`: how often file stores are flushed to disk;
    /// `None` when not configured.
    pub sync_interval: Option<Duration>,
    /// `jetstream { sync_interval: always }`: flush after every write.
    pub sync_always: bool,
    /// Leave the ASCII art out of the JetStream startup banner (Go's
    /// `DisableJetStreamBanner`; not in the config file).
    pub disable_jetstream_banner: bool,
    pub username: String,
    pub password: String,
    pub authorization: String,
    /// `authorization { users [...] }`: user/password entries.
    pub users: Vec<crate::auth::User>,
    /// `authorization { users [...] }`: nkey entries.
    pub nkeys: Vec<crate::auth::NkeyUser>,
    /// `no_auth_user`: the user a client without credentials connects as.
    pub no_auth_user: String,
    /// An `authorization` block was configured (Go's `authBlockDefined`).
    pub auth_block_defined: bool,
    /// `authorization { default_permissions }`.
    pub default_permissions: Option<crate::auth::Permissions>,
    /// Send a nonce in every INFO, even without nkey users (Go's `AlwaysEnableNonce`).
    pub always_enable_nonce: bool,
    /// The embedding program decides who may connect, in place of the configured users
    /// (Go's `CustomClientAuthentication`); never from a file.
    pub custom_client_authentication: Option<crate::auth::custom::CustomClientAuth>,
    /// `authorization { proxy_required }`: the single user or token only through a
    /// trusted proxy.
    pub proxy_required: bool,
    /// `trusted` / `trusted_keys`: operator public keys (operator mode; natsd refuses to
    /// start with them: JWT authentication is not built yet).
    pub trusted_keys: Vec<String>,
    /// `authorization { auth_callout }` (natsd refuses to start with it: not built yet).
    pub auth_callout: Option<crate::auth::AuthCallout>,
    /// `proxies { trusted [...] }`: proxies whose signed nonce clients may present.
    pub proxies: Option<crate::auth::proxy::ProxiesConfig>,
    /// `accounts { ... }`: the configured accounts (their users are in `users`/`nkeys`).
    pub accounts: Vec<crate::account::AccountConfig>,
    /// `mappings` at the top level: subject mappings of the global account.
    pub mappings: crate::config::mappings::MappingsConfig,
    /// `system_account`: the account of the server's own events; empty means `$SYS`.
    pub system_account: String,
    /// `no_system_account`: run without a system account.
    pub no_system_account: bool,
    pub tags: Vec<String>,
    /// `-t`: check the configuration file and exit.
    pub check_config: bool,
    /// `--profile`: profiling HTTP port (0 = off).
    pub prof_port: i32,
    /// `logfile_max_num`: how many rotated log files to keep (0 = all).
    pub log_max_files: i64,
    /// `--routes` as given (comma separated URLs).
    pub routes_str: String,
    /// Route URLs, each trimmed, from `routes_str` or the config file.
    pub routes: Vec<String>,
    pub cluster: ClusterOpts,
    /// `--tls`, `--tlsverify`, `--tlscert`, `--tlskey`, `--tlscacert`.
    pub tls: bool,
    pub tls_verify: bool,
    pub tls_cert: String,
    pub tls_key: String,
    pub tls_ca_cert: String,
    /// Client TLS, loaded from the `tls` block or the `--tls*` flags; `None` without TLS.
    pub tls_config: Option<std::sync::Arc<crate::tls::TlsConfig>>,
    /// The `tls` block as parsed (Go's `tlsConfigOpts`).
    pub tls_config_opts: Option<crate::tls::TlsConfigOpts>,
    /// How long a client's TLS handshake may take.
    pub tls_timeout: Duration,
    /// `verify_and_map`: the client certificate names the user.
    pub tls_map: bool,
    /// `pinned_certs`: hex SHA-256 of the accepted client public keys.
    pub tls_pinned_certs: Option<std::collections::BTreeSet<String>>,
    /// `handshake_first`: the TLS handshake comes before INFO.
    pub tls_handshake_first: bool,
    /// With `handshake_first`: wait this long for a handshake, then send INFO (0: never).
    pub tls_handshake_first_fallback: Duration,
    /// `connection_rate_limit` of the `tls` block (new TLS connections per second).
    pub tls_rate_limit: i64,
    /// `allow_non_tls`: with TLS configured, plain clients are accepted too.
    pub allow_non_tls: bool,
    /// `disable_sublist_cache` / `no_sublist_cache` (config file only).
    pub no_sublist_cache: bool,
    /// `proxy_protocol` (config file only): client connections start with a PROXY
    /// protocol header (v1 or v2) giving the client's real address.
    pub proxy_protocol: bool,
    /// `connect_error_reports`: log every Nth failed connect attempt (routes, gateways,
    /// leafnodes).
    pub connect_error_reports: i64,
    /// `reconnect_error_reports`: log every Nth failed reconnect attempt.
    pub reconnect_error_reports: i64,
    /// Digest of the loaded config file (`sha256:...`), as `-t` prints it.
    pub config_digest: String,
}

/// Cluster (route) options, Go's `ClusterOpts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterOpts {
    pub name: String,
    pub host: String,
    /// `-1` means random.
    pub port: i32,
    pub username: String,
    pub password: String,
    /// The listen URL as given by `--cluster`/`--cluster_listen`.
    pub listen_str: String,
    pub advertise: String,
    pub no_advertise: bool,
    pub connect_retries: i32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config_file: None,
            server_name: String::new(),
            host: DEFAULT_HOST.to_string(),
            port: DEFAULT_PORT as i32,
            client_advertise: String::new(),
            no_log: false,
            no_sigs: false,
            trace: false,
            trace_verbose: false,
            debug: false,
            logtime: true,
            logtime_utc: false,
            log_file: None,
            log_size_limit: 0,
            max_traced_msg_len: 0,
            trace_headers: false,
            syslog: false,
            remote_syslog: String::new(),
            pid_file: None,
            ports_file_dir: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_subs: 0,
            max_sub_tokens: 0,
            max_control_line: MAX_CONTROL_LINE as i32,
            max_payload: MAX_PAYLOAD as i32,
            max_pending: MAX_PENDING as i64,
            ping_interval: DEFAULT_PING_INTERVAL,
            max_pings_out: DEFAULT_PING_MAX_OUT,
            write_deadline: DEFAULT_WRITE_DEADLINE,
            write_timeout: WriteTimeoutPolicy::Default,
            auth_timeout: DEFAULT_AUTH_TIMEOUT,
            lame_duck_duration: DEFAULT_LAME_DUCK_DURATION,
            lame_duck_grace_period: DEFAULT_LAME_DUCK_GRACE_PERIOD,
            max_closed_clients: DEFAULT_MAX_CLOSED_CLIENTS,
            no_header_support: false,
            disable_short_first_ping: false,
            http_host: String::new(),
            http_port: 0,
            https_port: 0,
            http_base_path: String::new(),
            metadata: std::collections::BTreeMap::new(),
            feature_flags: std::collections::BTreeMap::new(),
            jetstream: false,
            store_dir: None,
            jetstream_strict: true,
            jetstream_max_memory: -1,
            jetstream_max_memory_set: false,
            jetstream_max_store: -1,
            jetstream_max_store_set: false,
            jetstream_domain: String::new(),
            jetstream_ext_hint: String::new(),
            jetstream_key: String::new(),
            jetstream_old_key: String::new(),
            jetstream_cipher: natsd_store::file::StoreCipher::ChaCha,
            jetstream_unique_tag: String::new(),
            jetstream_limits: crate::config::jetstream::JsLimitOpts::default(),
            jetstream_tpm: crate::config::jetstream::JsTpmOpts::default(),
            jetstream_max_catchup: 0,
            jetstream_request_queue_limit: crate::config::jetstream::DEFAULT_REQUEST_QUEUE_LIMIT,
            jetstream_info_queue_limit: 0,
            jetstream_meta_compact: 0,
            jetstream_meta_compact_size: 0,
            jetstream_meta_compact_sync: false,
            jetstream_concurrent_ios: crate::config::jetstream::DEFAULT_CONCURRENT_IOS,
            stream_max_buffered_msgs: 0,
            stream_max_buffered_size: 0,
            sync_interval: None,
            sync_always: false,
            disable_jetstream_banner: false,
            username: String::new(),
            password: String::new(),
            authorization: String::new(),
            users: Vec::new(),
            nkeys: Vec::new(),
            no_auth_user: String::new(),
            auth_block_defined: false,
            default_permissions: None,
            always_enable_nonce: false,
            custom_client_authentication: None,
            mappings: Vec::new(),
            proxy_required: false,
            proxies: None,
            auth_callout: None,
            trusted_keys: Vec::new(),
            accounts: Vec::new(),
            system_account: String::new(),
            no_system_account: false,
            tags: Vec::new(),
            check_config: false,
            prof_port: 0,
            log_max_files: 0,
            routes_str: String::new(),
            routes: Vec::new(),
            cluster: ClusterOpts::default(),
            tls: false,
            tls_verify: false,
            tls_cert: String::new(),
            tls_key: String::new(),
            tls_ca_cert: String::new(),
            tls_config: None,
            tls_config_opts: None,
            tls_timeout: crate::tls::DEFAULT_TLS_TIMEOUT,
            tls_map: false,
            tls_pinned_certs: None,
            tls_handshake_first: false,
            tls_handshake_first_fallback: Duration::ZERO,
            tls_rate_limit: 0,
            allow_non_tls: false,
            no_sublist_cache: false,
            proxy_protocol: false,
            connect_error_reports: DEFAULT_CONNECT_ERROR_REPORTS,
            reconnect_error_reports: DEFAULT_RECONNECT_ERROR_REPORTS,
            config_digest: String::new(),
        }
    }
}

/// `write_timeout`: on a write that misses its deadline, close the connection, or mark it a
/// slow consumer and retry the rest (Go's `WriteTimeoutPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteTimeoutPolicy {
    /// Not set: client connections close.
    #[default]
    Default,
    Close,
    Retry,
}

impl WriteTimeoutPolicy {
    /// The policy a client connection uses.
    pub fn for_client(self) -> WriteTimeoutPolicy {
        match self {
            WriteTimeoutPolicy::Default => WriteTimeoutPolicy::Close,
            p => p,
        }
    }

    /// Go's config values: `default`, `close`, `retry`.
    pub fn parse(v: &str) -> Option<WriteTimeoutPolicy> {
        match v {
            "default" => Some(WriteTimeoutPolicy::Default),
            "close" => Some(WriteTimeoutPolicy::Close),
            "retry" => Some(WriteTimeoutPolicy::Retry),
            _ => None,
        }
    }
}
