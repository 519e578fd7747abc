//! Checking a stream configuration and filling in its defaults (Go's `checkStreamCfg`),
//! and checking an update against the configuration in force (Go's
//! `configUpdateCheck`). Pure: the server's limits come in as arguments.

use super::api::errors::{self, ApiError};
use super::api::types::StreamConfig;

/// Go's default duplicate window: two minutes.
pub const DEFAULT_DUPLICATES_WINDOW: i64 = 120_000_000_000;

/// The server-wide limits a stream configuration is checked against (Go's
/// `JSLimitOpts` and the server's max payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerLimits {
    /// Nanoseconds; 0 = no limit.
    pub duplicates: i64,
    /// The server's `max_payload`.
    pub max_payload: i64,
}

fn invalid(text: &str) -> ApiError {
    errors::STREAM_INVALID_CONFIG.with_err(&text)
}

/// Checks `config` and returns it with Go's defaults filled in.
pub fn check_stream_config(
    config: &StreamConfig,
    limits: &ServerLimits,
    _pedantic: bool,
) -> Result<StreamConfig, ApiError> {
    if !super::is_valid_name(&config.name) {
        return Err(invalid(
            "stream name is required and can not contain '.', '*', '>', '\\', '/'",
        ));
    }
    let mut cfg = config.clone();
    if cfg.replicas == 0 {
        cfg.replicas = 1;
    }
    for v in [
        &mut cfg.max_msgs,
        &mut cfg.max_msgs_per,
        &mut cfg.max_bytes,
        &mut cfg.max_consumers,
    ] {
        if *v == 0 || *v < -1 {
            *v = -1;
        }
    }
    if cfg.max_msg_size == 0 || cfg.max_msg_size < -1 {
        cfg.max_msg_size = -1;
    }
    if cfg.max_age < 0 {
        return Err(invalid("max age can not be negative"));
    }
    if cfg.duplicates == 0 && cfg.mirror.is_none() && cfg.sources.is_empty() {
        let mut window = DEFAULT_DUPLICATES_WINDOW;
        if limits.duplicates > 0 && window > limits.duplicates {
            window = limits.duplicates;
        }
        cfg.duplicates = if cfg.max_age != 0 && cfg.max_age < window {
            cfg.max_age
        } else {
            window
        };
    }
    if cfg.subjects.is_empty() && cfg.mirror.is_none() && cfg.sources.is_empty() {
        cfg.subjects.push(cfg.name.clone());
    }
    Ok(cfg)
}

/// Checks an update of `old` to `new` and returns the configuration to apply.
pub fn check_update(
    old: &StreamConfig,
    new: &StreamConfig,
    limits: &ServerLimits,
    pedantic: bool,
) -> Result<StreamConfig, ApiError> {
    let cfg = check_stream_config(new, limits, pedantic)?;
    if cfg.storage != old.storage {
        return Err(errors::STREAM_INVALID_CONFIG
            .with_err(&"stream configuration update can not change storage type"));
    }
    Ok(cfg)
}
