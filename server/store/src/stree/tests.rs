//! Unit tests of the subject tree beyond the ported Go tests.
