//! Server options: CLI flags (Go `flag` semantics) and the config file.

pub mod account_imports;
pub mod accounts;
pub mod cli;
pub mod conf;
pub mod file;
pub mod jetstream;
pub mod mappings;
pub mod options;
pub mod tls_block;

pub use options::Options;
