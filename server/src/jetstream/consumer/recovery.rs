//! Reopening a file stream's consumers at start (Go's `doConsumers` at restore).

use super::{config_filters, restore_cursor, start_sequence, Consumer, Cursor};
use crate::jetstream::stream::Stream;
use crate::monitor::gotime::now_nanos;
use crate::server::ServerShared;
use std::sync::Arc;

/// Reopens the consumers kept in a file stream's `obs/` directory (Go's
/// `doConsumers` at restore).
pub fn recover_consumers(server: &Arc<ServerShared>, stream: &Arc<Stream>) {
    let Some(dir) = stream.dir.as_ref() else {
        return;
    };
    let odir = dir.join(crate::jetstream::meta::CONSUMER_DIR);
    let Ok(entries) = std::fs::read_dir(&odir) else {
        return;
    };
    let mut dirs: Vec<_> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect();
    if dirs.is_empty() {
        return;
    }
    dirs.sort();
    crate::notice!(
        server.logging,
        "  Recovering {} consumers for stream - '{} > {}'",
        dirs.len(),
        stream.account.name,
        stream.name
    );
    for cdir in dirs {
        let keys = stream.store.at_rest_keys();
        let read = crate::jetstream::meta::read_consumer_meta(&cdir, &stream.name, keys.as_ref());
        let meta = match read {
            Ok(m) => m,
            // Go's warning; the consumer is left on disk as it is.
            Err(crate::jetstream::meta::MetaError::Decrypt(e)) => {
                crate::warn!(
                    server.logging,
                    "  Error decrypting our consumer metafile: {e}"
                );
                continue;
            }
            Err(e) => {
                crate::warn!(
                    server.logging,
                    "    Error reading consumer metafile {:?}: {e}",
                    cdir.join(crate::jetstream::meta::META_FILE)
                        .display()
                        .to_string()
                );
                continue;
            }
        };
        let store = match crate::jetstream::stream::open_consumer_store(
            &stream.store,
            Some(dir),
            &stream.name,
            &meta.name,
            meta.created,
            &meta.config,
        ) {
            Ok(s) => s,
            Err(e) => {
                crate::warn!(
                    server.logging,
                    "    Error adding consumer '{} > {} > {}': {e}",
                    stream.account.name,
                    stream.name,
                    meta.name
                );
                continue;
            }
        };
        let now = now_nanos();
        // The saved state decides where it is, also when nothing was delivered yet (its
        // starting point was saved at creation; Go's readStoredState).
        let cursor = match store.state() {
            Ok(state) => {
                let mut c = restore_cursor(meta.config.clone(), &state, now);
                // Delivered past what the stream holds: the stream lost data.
                let last = stream.store().fast_state().last_seq;
                if c.delivered_sseq > last {
                    crate::warn!(
                        server.logging,
                        "JetStream consumer '{} > {} > {}' delivered sequence {} past last stream sequence of {}",
                        stream.account.name,
                        stream.name,
                        meta.name,
                        c.delivered_sseq,
                        last
                    );
                    c.reconcile_with_stream(last);
                    let _ = store.force_update(&c.stored_state());
                }
                c
            }
            _ => {
                let filters = config_filters(&meta.config);
                let mmp = stream.config().max_msgs_per;
                let pos = start_sequence(&meta.config, stream.store(), &filters, mmp);
                Cursor::at(meta.config.clone(), pos, now)
            }
        };
        let c = Consumer::new(server, stream, &meta.name, meta.created, cursor, store);
        if let Err(e) = c.start(server) {
            crate::warn!(
                server.logging,
                "    Error adding consumer '{} > {} > {}': {e}",
                stream.account.name,
                stream.name,
                meta.name
            );
            c.stop(server);
            continue;
        }
        stream.consumers.write().insert(meta.name.clone(), c);
    }
}
