//! The subscription trie with `*`/`>` wildcards, queue groups and a match cache.
