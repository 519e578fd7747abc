//! The NATS configuration language (nats-server's `conf` package): lexer, parser and
//! the parsed tree, whose every value keeps the file, line and column it came from so
//! option errors can point at it.
//!
//! ```text
//! listen: 127.0.0.1:4222          # '=', ':' or white space separate keys and values
//! max_payload = 1MB               # sizes: k/m/g/t/p/e (x1000) and kb/ki/kib... (x1024)
//! authorization { include 'users.conf' }    # relative to the including file
//! ping_interval: "2m"             # durations are strings
//! users = [ {user: $USER} ]       # variables: enclosing blocks, then the environment
//! ```

pub mod digest;
pub mod duration;
pub mod lex;
pub mod parse;
mod runes;
pub mod value;

pub use parse::{
    parse, parse_bytes, parse_file, parse_file_with_checks, parse_file_with_checks_digest,
    parse_with_checks, ParseError,
};
pub use value::{DateTime, Kind, Map, Pos, Value};
