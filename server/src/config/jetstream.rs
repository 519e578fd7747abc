//! JetStream configuration: the options' types and defaults, the configuration JetStream
//! runs with once the dynamic limits are worked out ([`resolve`]), the accounts that get
//! JetStream ([`jetstream_accounts`]), and the probes of this machine's memory and disk.
//! The config-file keys are read in [`parse`].

pub mod parse;

use crate::account::{DEFAULT_SYSTEM_ACCOUNT, GLOBAL_ACCOUNT};
use crate::config::Options;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The directory JetStream keeps its data in, under the configured `store_dir`.
pub const JETSTREAM_STORE_DIR: &str = "jetstream";
/// File storage when the disk space cannot be measured: 1 TiB.
pub const JETSTREAM_MAX_STORE_DEFAULT: i64 = 1 << 40;
/// Memory storage when the machine's memory cannot be measured: 256 MiB.
pub const JETSTREAM_MAX_MEM_DEFAULT: i64 = 256 << 20;
/// How often file stores are flushed when `sync_interval` is not set.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(2 * 60);
/// `$JS.API` requests queued before new ones are dropped.
pub const DEFAULT_REQUEST_QUEUE_LIMIT: i64 = 10_000;
/// Bytes in flight while catching up a replica when `max_outstanding_catchup` is 0.
pub const DEFAULT_MAX_TOTAL_CATCHUP_OUT_BYTES: i64 = 64 * 1024 * 1024;
/// Disk operations at once, and the range `max_concurrent_io` accepts.
pub const DEFAULT_CONCURRENT_IOS: i64 = 4096;
pub const MIN_CONCURRENT_IOS: i64 = 4;
pub const MAX_CONCURRENT_IOS: i64 = 8192;
/// Logged as a warning when JetStream stores under the temporary directory.
pub const TEMPORARY_STORE_DIR_WARNING: &str =
    "Temporary storage directory used, data could be lost on system reboot";

/// `jetstream { limits { ... } }`: server-wide limits (Go's `JSLimitOpts`; 0: none), with
/// its JSON names (`/varz`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsLimitOpts {
    /// Most messages a pull request may ask for.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_request_batch: i64,
    /// Most unacknowledged messages a consumer may have.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_ack_pending: i64,
    /// Most streams and consumers with more than one replica.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_ha_assets: i64,
    /// Longest duplicate window a stream may have.
    #[serde(
        rename = "max_duplicate_window",
        default,
        skip_serializing_if = "Duration::is_zero",
        with = "go_duration"
    )]
    pub duplicates: Duration,
    /// Most atomic batches open at once on one stream.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_batch_inflight_per_stream: i64,
    /// Most atomic batches open at once on the server.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_batch_inflight_total: i64,
    /// Most messages in one atomic batch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_batch_size: i64,
    /// Longest wait for a batch's commit after its first message.
    #[serde(
        default,
        skip_serializing_if = "Duration::is_zero",
        with = "go_duration"
    )]
    pub max_batch_timeout: Duration,
}

/// `jetstream { tpm { ... } }` (Go's `JSTpmOpts`). nats-server seals keys with a TPM only
/// on Windows; elsewhere a configured `keys_file` fails the start ([`resolve`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsTpmOpts {
    pub keys_file: String,
    /// `encryption_password`.
    pub key_password: String,
    pub srk_password: String,
    /// The PCR the key is sealed to (0: the default, 22).
    pub pcr: i64,
}

/// An account's JetStream limits (Go's `JetStreamAccountLimits`, with its JSON names);
/// -1 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JetStreamAccountLimits {
    pub max_memory: i64,
    #[serde(rename = "max_storage")]
    pub max_store: i64,
    pub max_streams: i64,
    pub max_consumers: i64,
    pub max_ack_pending: i64,
    pub memory_max_stream_bytes: i64,
    #[serde(rename = "storage_max_stream_bytes")]
    pub store_max_stream_bytes: i64,
    pub max_bytes_required: bool,
}

impl JetStreamAccountLimits {
    /// No limits: what `jetstream: enabled` gives an account (Go's
    /// `dynamicJSAccountLimits`).
    pub const UNLIMITED: JetStreamAccountLimits = JetStreamAccountLimits {
        max_memory: -1,
        max_store: -1,
        max_streams: -1,
        max_consumers: -1,
        max_ack_pending: -1,
        memory_max_stream_bytes: -1,
        store_max_stream_bytes: -1,
        max_bytes_required: false,
    };
}

impl Default for JetStreamAccountLimits {
    fn default() -> Self {
        JetStreamAccountLimits::UNLIMITED
    }
}

/// The configuration JetStream runs with (Go's `JetStreamConfig`), as `/varz` and
/// `$JS.API.INFO` report it: limits in bytes, the directory that holds the accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JetStreamConfig {
    pub max_memory: i64,
    #[serde(rename = "max_storage")]
    pub max_store: i64,
    #[serde(default, skip_serializing_if = "path_is_empty")]
    pub store_dir: PathBuf,
    #[serde(
        default,
        skip_serializing_if = "Duration::is_zero",
        with = "go_duration"
    )]
    pub sync_interval: Duration,
    #[serde(default, skip_serializing_if = "is_false")]
    pub sync_always: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub compress_ok: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unique_tag: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict: bool,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn path_is_empty(p: &Path) -> bool {
    p.as_os_str().is_empty()
}

/// Durations in JSON as Go writes them: whole nanoseconds.
mod go_duration {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let n = i64::deserialize(d)?;
        Ok(Duration::from_nanos(u64::try_from(n).unwrap_or(0)))
    }
}

/// A size option as set: a zero that the config file did not set means "not set" (Go's
/// baseline turns it into -1).
fn size_option(v: i64, set: bool) -> i64 {
    if v == 0 && !set {
        -1
    } else {
        v
    }
}

/// Go's baseline for the JetStream options (`setBaselineOptions`): unset sizes become
/// -1 (dynamic), and unset queue and I/O limits their defaults. `sync_interval` stays
/// `None` so that the server can tell "not configured" apart; [`resolve`] reports the
/// default for it.
pub fn set_baseline(o: &mut Options) {
    o.jetstream_max_memory = size_option(o.jetstream_max_memory, o.jetstream_max_memory_set);
    o.jetstream_max_store = size_option(o.jetstream_max_store, o.jetstream_max_store_set);
    if o.jetstream_request_queue_limit <= 0 {
        o.jetstream_request_queue_limit = DEFAULT_REQUEST_QUEUE_LIMIT;
    }
    if o.jetstream_info_queue_limit <= 0 {
        o.jetstream_info_queue_limit = o.jetstream_request_queue_limit;
    }
    if o.jetstream_concurrent_ios <= 0 {
        o.jetstream_concurrent_ios = DEFAULT_CONCURRENT_IOS;
    }
}

/// Bytes in flight while catching up a replica.
pub fn max_catchup(o: &Options) -> i64 {
    match o.jetstream_max_catchup {
        0 => DEFAULT_MAX_TOTAL_CATCHUP_OUT_BYTES,
        n => n,
    }
}

/// The configured store directory, when there is one (an empty one is none).
fn configured_store_dir(o: &Options) -> Option<&Path> {
    o.store_dir.as_deref().filter(|d| !d.as_os_str().is_empty())
}

/// JetStream stores under the temporary directory: no `store_dir` is configured. The
/// server then logs [`TEMPORARY_STORE_DIR_WARNING`].
pub fn uses_temporary_store_dir(o: &Options) -> bool {
    configured_store_dir(o).is_none()
}

/// The limits are worked out from the machine (either is not a positive number).
fn is_dynamic(o: &Options) -> bool {
    size_option(o.jetstream_max_memory, o.jetstream_max_memory_set) <= 0
        || size_option(o.jetstream_max_store, o.jetstream_max_store_set) <= 0
}

/// The directory JetStream keeps its accounts in: `<store_dir>/jetstream`, or under the
/// temporary directory (`nats/jetstream` with dynamic limits, `jetstream` with both
/// limits given, as the reference does).
pub fn resolved_store_dir(o: &Options) -> PathBuf {
    match configured_store_dir(o) {
        Some(d) => d.join(JETSTREAM_STORE_DIR),
        None if is_dynamic(o) => std::env::temp_dir().join("nats").join(JETSTREAM_STORE_DIR),
        None => std::env::temp_dir().join(JETSTREAM_STORE_DIR),
    }
}

/// Three quarters of `n`, as the reference estimates what it may use.
fn three_quarters(n: u64) -> i64 {
    i64::try_from(n / 4 * 3).unwrap_or(i64::MAX)
}

/// The configuration JetStream runs with, from the options, the machine's memory in
/// bytes (0: unknown) and the bytes available on the disk of the store directory
/// (`None`: unknown). Memory or storage not configured (negative, or a zero the config
/// file did not set) is 75% of the machine's memory (256 MiB when unknown), or 75% of the
/// disk space available (1 TiB when unknown). Compression is offered only when both
/// limits are configured (the reference's dynamic configuration leaves it off).
///
/// Fails as the reference fails to start JetStream for its encryption settings: a key
/// next to TPM settings, and TPM settings at all (Windows only in nats-server). The
/// reference checks the store directory before these; that is I/O and the caller's.
pub fn resolve(
    opts: &Options,
    system_memory: u64,
    disk_available: Option<u64>,
) -> Result<JetStreamConfig, String> {
    if !opts.jetstream_key.is_empty() && !opts.jetstream_tpm.keys_file.is_empty() {
        return Err("JetStream encryption key may not be used with TPM options".into());
    }
    if opts.jetstream_key.is_empty() && !opts.jetstream_tpm.keys_file.is_empty() {
        return Err("TPM functionality is not supported on this platform".into());
    }
    let max_memory = size_option(opts.jetstream_max_memory, opts.jetstream_max_memory_set);
    let max_store = size_option(opts.jetstream_max_store, opts.jetstream_max_store_set);
    let mut cfg = JetStreamConfig {
        store_dir: resolved_store_dir(opts),
        sync_interval: opts.sync_interval.unwrap_or(DEFAULT_SYNC_INTERVAL),
        sync_always: opts.sync_always,
        domain: opts.jetstream_domain.clone(),
        unique_tag: opts.jetstream_unique_tag.clone(),
        strict: opts.jetstream_strict,
        ..JetStreamConfig::default()
    };
    if is_dynamic(opts) {
        // A zero counts as set only when the config file set it.
        cfg.max_store = if max_store > 0 || (opts.jetstream_max_store_set && max_store == 0) {
            max_store
        } else {
            disk_available.map_or(JETSTREAM_MAX_STORE_DEFAULT, three_quarters)
        };
        cfg.max_memory = if max_memory > 0 || (opts.jetstream_max_memory_set && max_memory == 0) {
            max_memory
        } else if system_memory > 0 {
            three_quarters(system_memory)
        } else {
            JETSTREAM_MAX_MEM_DEFAULT
        };
    } else {
        cfg.max_memory = max_memory;
        cfg.max_store = max_store;
        cfg.compress_ok = true;
    }
    Ok(cfg)
}

/// [`resolve`] with this machine's memory and the disk space at the store directory.
pub fn resolve_here(opts: &Options) -> Result<JetStreamConfig, String> {
    resolve(
        opts,
        system_memory(),
        disk_available(&resolved_store_dir(opts)),
    )
}

/// The machine's memory in bytes (the `sysinfo` total the reference reads); 0 when it
/// cannot be read.
pub fn system_memory() -> u64 {
    nix::sys::sysinfo::sysinfo().map_or(0, |i| i.ram_total())
}

/// Bytes available to an unprivileged user on the file system of `dir`, measured at its
/// closest existing ancestor (the directory may not exist yet); `None` when it cannot be
/// measured.
pub fn disk_available(dir: &Path) -> Option<u64> {
    let existing = dir.ancestors().find(|d| d.exists())?;
    let st = nix::sys::statfs::statfs(existing).ok()?;
    st.blocks_available()
        .checked_mul(u64::try_from(st.block_size()).ok()?)
}

/// The JetStream checks of the options the reference makes before a server starts
/// (`validateJetStreamOptions`), for a server without clustering: the domain must make a
/// valid subject and be a valid name.
pub fn validate_options(o: &Options) -> Result<(), String> {
    let domain = &o.jetstream_domain;
    if !domain.is_empty() {
        let subject = format!("$JS.{domain}.API.>");
        if !crate::subject::is_valid_subject(&subject) {
            return Err(format!(
                "invalid domain name: derived {} is not a valid subject",
                crate::config::cli::go_quote(&subject)
            ));
        }
        if domain.contains([' ', '\t', '\r', '\n', '\x0c', '.', '*', '>']) {
            return Err("invalid domain name: may not contain ., * or >".into());
        }
    }
    Ok(())
}

/// Why a server cannot start JetStream for its accounts.
pub const ERR_JETSTREAM_ON_SYSTEM_ACCOUNT: &str =
    "Not allowed to enable JetStream on the system account";

/// The accounts that get JetStream when the server starts it, with their limits, in the
/// order they are configured. With JetStream off, none. With no accounts configured
/// besides the system account (and no operator), the global account gets it without
/// limits; otherwise exactly the accounts whose `jetstream` enables it (the global
/// account is not configurable). An account enabling it that is the system account is an
/// error.
pub fn jetstream_accounts(o: &Options) -> Result<Vec<(String, JetStreamAccountLimits)>, String> {
    if !o.jetstream {
        return Ok(Vec::new());
    }
    let system = if o.system_account.is_empty() {
        DEFAULT_SYSTEM_ACCOUNT
    } else {
        o.system_account.as_str()
    };
    let has_system = !o.no_system_account || !o.system_account.is_empty();
    if has_system
        && o.accounts
            .iter()
            .any(|a| a.name == system && a.jetstream.is_some())
    {
        return Err(ERR_JETSTREAM_ON_SYSTEM_ACCOUNT.into());
    }
    let global_only = o.trusted_keys.is_empty()
        && o.accounts
            .iter()
            .all(|a| a.name == system || a.name == GLOBAL_ACCOUNT);
    if global_only {
        return Ok(vec![(
            GLOBAL_ACCOUNT.to_string(),
            JetStreamAccountLimits::UNLIMITED,
        )]);
    }
    Ok(o.accounts
        .iter()
        .filter(|a| a.name != system)
        .filter_map(|a| a.jetstream.map(|l| (a.name.clone(), l)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::AccountConfig;

    const GB: i64 = 1 << 30;

    fn js_opts() -> Options {
        Options {
            jetstream: true,
            store_dir: Some(PathBuf::from("/data")),
            ..Options::default()
        }
    }

    #[test]
    fn defaults_are_the_references() {
        let o = Options::default();
        assert!(!o.jetstream && o.jetstream_strict);
        assert_eq!((o.jetstream_max_memory, o.jetstream_max_store), (-1, -1));
        assert_eq!(o.jetstream_request_queue_limit, 10_000);
        assert_eq!(o.jetstream_concurrent_ios, 4096);
        assert_eq!(o.jetstream_cipher, natsd_store::file::StoreCipher::ChaCha);
        assert_eq!(o.sync_interval, None);
        assert_eq!(max_catchup(&o), 64 * 1024 * 1024);
        let mut b = Options {
            jetstream_max_memory: 0,
            jetstream_max_store: 0,
            jetstream_request_queue_limit: 0,
            jetstream_concurrent_ios: 0,
            ..Options::default()
        };
        set_baseline(&mut b);
        assert_eq!((b.jetstream_max_memory, b.jetstream_max_store), (-1, -1));
        assert_eq!(b.jetstream_request_queue_limit, 10_000);
        assert_eq!(b.jetstream_info_queue_limit, 10_000);
        assert_eq!(b.jetstream_concurrent_ios, 4096);
        // A zero the config file set stays; the info queue follows the request queue.
        let mut b = Options {
            jetstream_max_memory: 0,
            jetstream_max_memory_set: true,
            jetstream_request_queue_limit: 500,
            ..Options::default()
        };
        set_baseline(&mut b);
        assert_eq!(b.jetstream_max_memory, 0);
        assert_eq!(b.jetstream_info_queue_limit, 500);
    }

    #[test]
    fn both_limits_given_are_used_as_they_are() {
        let o = Options {
            jetstream_max_memory: 2 * GB,
            jetstream_max_store: 1024 * GB,
            jetstream_domain: "HUB".into(),
            jetstream_unique_tag: "az".into(),
            ..js_opts()
        };
        let c = resolve(&o, 8 * GB as u64, Some(1 << 50)).expect("ok");
        assert_eq!(
            c,
            JetStreamConfig {
                max_memory: 2 * GB,
                max_store: 1024 * GB,
                store_dir: PathBuf::from("/data/jetstream"),
                sync_interval: DEFAULT_SYNC_INTERVAL,
                sync_always: false,
                domain: "HUB".into(),
                compress_ok: true,
                unique_tag: "az".into(),
                strict: true,
            }
        );
    }

    #[test]
    fn dynamic_limits_are_three_quarters_of_the_machine() {
        let c = resolve(&js_opts(), 16 * GB as u64, Some(1000 * GB as u64 + 3)).expect("ok");
        assert_eq!(c.max_memory, 12 * GB);
        // Go's integer arithmetic: a quarter first, rounded down, then times three.
        assert_eq!(c.max_store, (1000 * GB + 3) / 4 * 3);
        assert_eq!(c.store_dir, PathBuf::from("/data/jetstream"));
        // The dynamic configuration does not offer compression.
        assert!(!c.compress_ok && c.strict);
        // Unknown machine: 256 MiB and 1 TiB.
        let c = resolve(&js_opts(), 0, None).expect("ok");
        assert_eq!(
            (c.max_memory, c.max_store),
            (JETSTREAM_MAX_MEM_DEFAULT, JETSTREAM_MAX_STORE_DEFAULT)
        );
    }

    #[test]
    fn one_limit_given_keeps_it_and_works_out_the_other() {
        let o = Options {
            jetstream_max_memory: 2 * GB,
            ..js_opts()
        };
        let c = resolve(&o, 16 * GB as u64, Some(400)).expect("ok");
        assert_eq!((c.max_memory, c.max_store), (2 * GB, 300));
        // Programmatic zeros mean "not set" (Go's TestJetStreamProgrammaticMaxStoreAndMaxMemory).
        let o = Options {
            jetstream_max_memory: 0,
            jetstream_max_store: GB,
            ..js_opts()
        };
        let c = resolve(&o, 16 * GB as u64, Some(400)).expect("ok");
        assert_eq!((c.max_memory, c.max_store), (12 * GB, GB));
        // -1 from the config file falls back to dynamic limits.
        let o = Options {
            jetstream_max_memory: -1,
            jetstream_max_memory_set: true,
            jetstream_max_store: -1,
            jetstream_max_store_set: true,
            ..js_opts()
        };
        let c = resolve(&o, 16 * GB as u64, Some(400)).expect("ok");
        assert_eq!((c.max_memory, c.max_store), (12 * GB, 300));
    }

    #[test]
    fn zeros_from_the_config_file_are_kept() {
        let o = Options {
            jetstream_max_memory: 0,
            jetstream_max_memory_set: true,
            jetstream_max_store: 0,
            jetstream_max_store_set: true,
            ..js_opts()
        };
        let c = resolve(&o, 16 * GB as u64, Some(400)).expect("ok");
        assert_eq!((c.max_memory, c.max_store), (0, 0));
    }

    #[test]
    fn without_a_store_dir_the_temporary_directory_is_used() {
        let o = Options {
            store_dir: None,
            ..js_opts()
        };
        assert!(uses_temporary_store_dir(&o));
        assert!(!uses_temporary_store_dir(&js_opts()));
        let c = resolve(&o, 0, None).expect("ok");
        assert_eq!(c.store_dir, std::env::temp_dir().join("nats/jetstream"));
        let o = Options {
            store_dir: Some(PathBuf::new()),
            jetstream_max_memory: GB,
            jetstream_max_store: GB,
            ..js_opts()
        };
        assert!(uses_temporary_store_dir(&o));
        let c = resolve(&o, 0, None).expect("ok");
        assert_eq!(c.store_dir, std::env::temp_dir().join("jetstream"));
    }

    #[test]
    fn sync_settings_and_strict_are_carried() {
        let o = Options {
            sync_interval: Some(Duration::from_secs(10)),
            sync_always: true,
            jetstream_strict: false,
            ..js_opts()
        };
        let c = resolve(&o, GB as u64, None).expect("ok");
        assert_eq!(c.sync_interval, Duration::from_secs(10));
        assert!(c.sync_always && !c.strict);
    }

    #[test]
    fn encryption_settings_that_cannot_start() {
        let mut o = js_opts();
        o.jetstream_tpm.keys_file = "keys.json".into();
        assert_eq!(
            resolve(&o, GB as u64, None),
            Err("TPM functionality is not supported on this platform".into())
        );
        o.jetstream_key = "secret".into();
        assert_eq!(
            resolve(&o, GB as u64, None),
            Err("JetStream encryption key may not be used with TPM options".into())
        );
        o.jetstream_tpm = JsTpmOpts::default();
        assert!(resolve(&o, GB as u64, None).is_ok());
    }

    #[test]
    fn config_json_has_gos_names() {
        let c = JetStreamConfig {
            max_memory: 1,
            max_store: 2,
            store_dir: PathBuf::from("/d/jetstream"),
            sync_interval: Duration::from_secs(120),
            sync_always: true,
            domain: "HUB".into(),
            compress_ok: true,
            unique_tag: "az".into(),
            strict: true,
        };
        assert_eq!(
            serde_json::to_string(&c).expect("ok"),
            r#"{"max_memory":1,"max_storage":2,"store_dir":"/d/jetstream","sync_interval":120000000000,"sync_always":true,"domain":"HUB","compress_ok":true,"unique_tag":"az","strict":true}"#
        );
        assert_eq!(
            serde_json::from_str::<JetStreamConfig>(&serde_json::to_string(&c).expect("ok"))
                .expect("ok"),
            c
        );
        assert_eq!(
            serde_json::to_string(&JetStreamConfig::default()).expect("ok"),
            r#"{"max_memory":0,"max_storage":0}"#
        );
    }

    #[test]
    fn account_limits_json_has_gos_names() {
        assert_eq!(
            serde_json::to_string(&JetStreamAccountLimits::UNLIMITED).expect("ok"),
            r#"{"max_memory":-1,"max_storage":-1,"max_streams":-1,"max_consumers":-1,"max_ack_pending":-1,"memory_max_stream_bytes":-1,"storage_max_stream_bytes":-1,"max_bytes_required":false}"#
        );
    }

    #[test]
    fn limit_opts_json_has_gos_names() {
        assert_eq!(
            serde_json::to_string(&JsLimitOpts::default()).expect("ok"),
            "{}"
        );
        let l = JsLimitOpts {
            max_request_batch: 1,
            max_ack_pending: 2,
            max_ha_assets: 3,
            duplicates: Duration::from_secs(1),
            max_batch_inflight_per_stream: 4,
            max_batch_inflight_total: 5,
            max_batch_size: 6,
            max_batch_timeout: Duration::from_millis(1),
        };
        assert_eq!(
            serde_json::to_string(&l).expect("ok"),
            r#"{"max_request_batch":1,"max_ack_pending":2,"max_ha_assets":3,"max_duplicate_window":1000000000,"max_batch_inflight_per_stream":4,"max_batch_inflight_total":5,"max_batch_size":6,"max_batch_timeout":1000000}"#
        );
    }

    #[test]
    fn domain_checks() {
        // Go's TestJetStreamServerDomainBadConfig.
        for bad in [
            "HU..B",
            "HU B",
            " ",
            "\t",
            "CORE.",
            ".CORE",
            "C.*.O. RE",
            "C.ORE",
        ] {
            let o = Options {
                jetstream_domain: bad.into(),
                ..Options::default()
            };
            let e = validate_options(&o).expect_err("fails");
            assert!(e.contains("invalid domain name"), "{bad:?}: {e}");
        }
        assert_eq!(
            validate_options(&Options {
                jetstream_domain: "A B".into(),
                ..Options::default()
            }),
            Err(r#"invalid domain name: derived "$JS.A B.API.>" is not a valid subject"#.into())
        );
        assert_eq!(
            validate_options(&Options {
                jetstream_domain: "A.B".into(),
                ..Options::default()
            }),
            Err("invalid domain name: may not contain ., * or >".into())
        );
        assert_eq!(
            validate_options(&Options {
                jetstream_domain: "HUB".into(),
                ..Options::default()
            }),
            Ok(())
        );
        assert_eq!(validate_options(&Options::default()), Ok(()));
    }

    fn account(name: &str, js: Option<JetStreamAccountLimits>) -> AccountConfig {
        AccountConfig {
            name: name.into(),
            jetstream: js,
            ..AccountConfig::default()
        }
    }

    fn names(v: &[(String, JetStreamAccountLimits)]) -> Vec<&str> {
        v.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn without_jetstream_no_account_gets_it() {
        let o = Options {
            accounts: vec![account("A", Some(JetStreamAccountLimits::UNLIMITED))],
            ..Options::default()
        };
        assert_eq!(jetstream_accounts(&o), Ok(vec![]));
    }

    #[test]
    fn without_accounts_the_global_account_gets_it() {
        assert_eq!(
            jetstream_accounts(&js_opts()),
            Ok(vec![("$G".to_string(), JetStreamAccountLimits::UNLIMITED)])
        );
        // The system account does not count as a configured account.
        let o = Options {
            system_account: "SYS".into(),
            accounts: vec![account("SYS", None)],
            ..js_opts()
        };
        assert_eq!(names(&jetstream_accounts(&o).expect("ok")), ["$G"]);
    }

    #[test]
    fn with_accounts_only_those_enabling_it_get_it() {
        let limited = JetStreamAccountLimits {
            max_memory: GB,
            ..JetStreamAccountLimits::UNLIMITED
        };
        let o = Options {
            accounts: vec![
                account("B", Some(limited)),
                account("A", None),
                account("C", Some(JetStreamAccountLimits::UNLIMITED)),
            ],
            ..js_opts()
        };
        assert_eq!(
            jetstream_accounts(&o),
            Ok(vec![
                ("B".to_string(), limited),
                ("C".to_string(), JetStreamAccountLimits::UNLIMITED)
            ])
        );
        // Accounts configured, none enabling it: no account has JetStream, not even $G.
        let o = Options {
            accounts: vec![account("A", None)],
            ..js_opts()
        };
        assert_eq!(jetstream_accounts(&o), Ok(vec![]));
        // Operator mode never falls back to the global account.
        let o = Options {
            trusted_keys: vec!["O".into()],
            ..js_opts()
        };
        assert_eq!(jetstream_accounts(&o), Ok(vec![]));
    }

    #[test]
    fn the_system_account_may_not_have_it() {
        let o = Options {
            accounts: vec![account("$SYS", Some(JetStreamAccountLimits::UNLIMITED))],
            ..js_opts()
        };
        assert_eq!(
            jetstream_accounts(&o),
            Err(ERR_JETSTREAM_ON_SYSTEM_ACCOUNT.into())
        );
        let o = Options {
            system_account: "SYS".into(),
            accounts: vec![
                account("SYS", Some(JetStreamAccountLimits::UNLIMITED)),
                account("A", None),
            ],
            ..js_opts()
        };
        assert_eq!(
            jetstream_accounts(&o),
            Err(ERR_JETSTREAM_ON_SYSTEM_ACCOUNT.into())
        );
    }

    #[test]
    fn probes_measure_this_machine() {
        assert!(system_memory() > 0);
        let here = disk_available(&std::env::temp_dir().join("natsd-no-such-dir/jetstream"));
        assert!(here.is_some_and(|b| b > 0), "{here:?}");
        let c = resolve_here(&Options {
            store_dir: Some(std::env::temp_dir().join("natsd-no-such-dir")),
            ..js_opts()
        })
        .expect("ok");
        assert!(c.max_memory > 0 && c.max_store > 0);
    }
}
