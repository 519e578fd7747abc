//! JetStream API errors: the codes and texts clients see (Go's errors.json).
