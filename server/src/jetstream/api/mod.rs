//! The JetStream API: its JSON types and errors, and one handler per `$JS.API` verb.

pub mod errors;
pub mod types;
