//! Encoders for INFO, MSG, HMSG, PING/PONG, +OK and -ERR.
