//! Checking a consumer configuration and filling in its defaults (Go's
//! `setConsumerConfigDefaults` and `checkConsumerCfg`), checking an update against the
//! configuration in force, and the checks of a consumer create request.
