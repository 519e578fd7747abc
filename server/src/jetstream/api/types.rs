//! JSON types of the JetStream API, as Go encodes them.
