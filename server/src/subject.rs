//! Subject validation and tokenizing.
