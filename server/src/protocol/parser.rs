//! Byte-level parser of the client protocol (to be written).
