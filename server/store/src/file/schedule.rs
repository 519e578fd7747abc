//! Message schedules in the file store, and how they survive a restart.
//!
//! The schedules themselves ([`MsgScheduling`]) are the memory store's; the file store
//! keeps them in [`Core`] so that every removal path drops the schedules of the messages
//! it removes.
//!
//! **Restart.** A clean stop saves the schedules to `msgs/sched.db` in Go's format,
//! stamped with the first sequence the state does not cover (last + 1). Open takes the
//! file back only when that stamp is still the stream's last sequence + 1 — nothing was
//! stored after it was written — and removes it at once, so a stale copy never outlives
//! the open that read it (a later crash after a truncate could otherwise pair it with
//! different messages). Without a usable file (none, damaged, or a stream that moved on)
//! the schedules are rebuilt from the blocks: the recovery scan notes every message with
//! schedule headers, and those are replayed in sequence order through the bookkeeping a
//! store does ([`MsgScheduling::track`]). A later message without schedule headers on a
//! schedule's subject ended that schedule when it was stored, and ends it again here.
//! Unlike Go's rebuild, the replay also applies the next fire times that scheduled
//! messages still in the stream carry.

use std::collections::HashSet;
use std::fs;
use std::io;

use super::block;
use super::codec::StoreCipher;
use super::core::Core;
use super::FileStore;
use crate::schedule::{MsgScheduling, JS_SCHEDULER, JS_SCHEDULE_PATTERN, JS_SCHEDULE_TIME_ZONE};
use crate::store::{header_value, StoreError, StoreMsg};

/// File of the schedules saved at a clean stop, in the blocks directory (Go's `sched.db`).
pub const SCHEDULE_FILE: &str = "sched.db";
/// The block index an encrypted `sched.db` is sealed under (no block file uses 0).
const SCHEDULE_BLOCK_INDEX: u32 = 0;

/// Whether a message's headers matter to schedule bookkeeping: a schedule (valid or
/// not), or a message a schedule produced. Any other message is plain.
pub fn has_schedule_headers(hdr: &[u8]) -> bool {
    !hdr.is_empty()
        && [JS_SCHEDULE_PATTERN, JS_SCHEDULER, JS_SCHEDULE_TIME_ZONE]
            .iter()
            .any(|key| header_value(hdr, key).is_some())
}

impl Core {
    /// Sets up the schedules once the recovery scan is done: `None` when the stream does
    /// not allow them, else the saved state if it still matches, else a rebuild from the
    /// messages the scan noted. `now` moves repeating schedules past missed fires.
    pub fn recover_schedules(&mut self, allowed: bool, now: i64) -> io::Result<()> {
        let path = self.msgs_dir.join(SCHEDULE_FILE);
        let saved = match fs::read(&path) {
            Ok(buf) => Some(buf),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            // Unreadable is the same as missing: the blocks have everything.
            Err(_) => Some(Vec::new()),
        };
        if saved.is_some() {
            fs::remove_file(&path)?;
            block::sync_dir(&self.msgs_dir)?;
        }
        let noted = self.schedule_seqs.take();
        if !allowed {
            self.schedules = None;
            return Ok(());
        }
        let current = saved
            .and_then(|buf| self.open_schedule_file(buf))
            .and_then(|buf| MsgScheduling::decode(&buf).ok())
            .filter(|&(_, high_seq)| high_seq == self.last_seq + 1)
            .map(|(sched, _)| self.keep_matching(sched));
        self.schedules = Some(match (current, noted) {
            (Some(sched), _) => sched,
            (None, Some(noted)) => self.replay_schedules(&noted, now),
            // The index came from a state file: no scan noted anything, so every message
            // is looked at (Go's linear scan).
            (None, None) => {
                let seqs: Vec<u64> = self.live_seqs_from(0).collect();
                self.replay_schedules(&seqs, now)
            }
        });
        Ok(())
    }

    /// Drops saved schedules whose message is gone or is not on the schedule's subject.
    fn keep_matching(&self, mut sched: MsgScheduling) -> MsgScheduling {
        let stale: Vec<String> = sched
            .iter()
            .filter(|&(subject, seq, _)| {
                !self.is_live(seq) || self.subject_of(seq).is_none_or(|s| &**s != subject)
            })
            .map(|(subject, _, _)| subject.to_string())
            .collect();
        for subject in stale {
            sched.remove_subject(&subject);
        }
        sched
    }

    /// Rebuilds the schedules from the messages `seqs` (ascending; messages without
    /// schedule headers among them are skipped) as storing them did.
    fn replay_schedules(&self, seqs: &[u64], now: i64) -> MsgScheduling {
        let mut sched = MsgScheduling::new();
        let mut tracked = HashSet::new();
        for &seq in seqs {
            let Ok(sm) = self.load(seq) else {
                continue;
            };
            if has_schedule_headers(&sm.hdr) {
                sched.track(&sm.subject, &sm.hdr, seq, sm.ts, now);
                tracked.insert(seq);
            }
        }
        // A plain message stored on a schedule's subject after it ended the schedule.
        let ended: Vec<String> = sched
            .iter()
            .filter(|&(subject, seq, _)| {
                let Some(info) = self.subjects.get(subject) else {
                    return false;
                };
                info.last > seq
                    && self
                        .live_seqs_from(seq + 1)
                        .take_while(|&s| s <= info.last)
                        .any(|s| {
                            !tracked.contains(&s)
                                && self.subject_of(s).is_some_and(|sub| &**sub == subject)
                        })
            })
            .map(|(subject, _, _)| subject.to_string())
            .collect();
        for subject in ended {
            sched.remove_subject(&subject);
        }
        sched
    }

    /// Saves the schedules for the next open (at a clean stop). Nothing is saved when the
    /// stream has none to keep, or when a subject does not fit the format; the next open
    /// then rebuilds them from the blocks.
    pub fn save_schedules(&self) -> io::Result<()> {
        let Some(buf) = self
            .schedules
            .as_ref()
            .and_then(|sched| sched.encode(self.last_seq + 1))
        else {
            return Ok(());
        };
        let buf = self.seal_schedule_file(buf)?;
        let path = self.msgs_dir.join(SCHEDULE_FILE);
        let tmp = self.msgs_dir.join(format!("{SCHEDULE_FILE}.tmp"));
        fs::write(&tmp, &buf)?;
        fs::File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, &path)?;
        block::sync_dir(&self.msgs_dir)
    }

    /// The schedules name subjects: an encrypted store seals the file like a block (under
    /// the state file's block index, with a fresh key of its own). Without a cipher the
    /// file is Go's format as is.
    fn seal_schedule_file(&self, buf: Vec<u8>) -> io::Result<Vec<u8>> {
        if self.codec.cipher == StoreCipher::None {
            return Ok(buf);
        }
        let (_, sealed) = self
            .codec
            .encode_block(&self.name, SCHEDULE_BLOCK_INDEX, &buf, false)?;
        Ok(sealed)
    }

    /// The saved schedules in Go's format; `None` when the file does not open (another
    /// key, damage): the blocks have everything.
    fn open_schedule_file(&self, buf: Vec<u8>) -> Option<Vec<u8>> {
        match self
            .codec
            .read_header(&buf, &self.name, SCHEDULE_BLOCK_INDEX)
        {
            // In the clear: no key, or saved before the store had one (the next save
            // seals it).
            Ok(None) => Some(buf),
            Ok(Some(_)) => self
                .codec
                .decode_block(&buf, &self.name, SCHEDULE_BLOCK_INDEX)
                .ok()
                .map(|(_, plain)| plain),
            Err(_) => None,
        }
    }

    /// Turns schedules on (rebuilt from every stored message) or off, as the stream's
    /// configuration now says.
    pub fn allow_schedules(&mut self, allowed: bool, now: i64) {
        match (allowed, self.schedules.is_some()) {
            (true, false) => {
                let seqs: Vec<u64> = self.live_seqs_from(0).collect();
                self.schedules = Some(self.replay_schedules(&seqs, now));
            }
            (false, true) => self.schedules = None,
            _ => {}
        }
    }

    /// Drops the schedules whose message was among the removed `seqs`.
    pub fn forget_schedules(&mut self, seqs: impl IntoIterator<Item = u64>) {
        if let Some(sched) = &mut self.schedules {
            for seq in seqs {
                sched.remove(seq);
            }
        }
    }

    /// Drops every schedule (everything was removed).
    pub fn clear_schedules(&mut self) {
        if let Some(sched) = &mut self.schedules {
            *sched = MsgScheduling::new();
        }
    }

    /// The last message stored on `subject`.
    fn last_msg_of(&self, subject: &str) -> Option<StoreMsg> {
        let info = self.subjects.get(subject)?;
        self.load(info.last).ok()
    }
}

impl FileStore {
    /// When the earliest schedule fires (Go's scheduling timer's deadline).
    pub(super) fn next_schedule_fire(&self) -> Option<i64> {
        self.lock().core.schedules.as_ref()?.next_fire()
    }

    /// Hands the message of every schedule due now to the process handler, which stores
    /// them through the stream (Go's `runMsgScheduling`). Without a handler nothing is
    /// due yet: the schedules wait for one.
    pub(super) fn fire_due_schedules(&self) {
        let Some(process) = self
            .shared
            .callbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .process
            .clone()
        else {
            return;
        };
        let now = self.shared.clock.now_ns();
        let due = {
            let mut guard = self.lock();
            if guard.closed {
                return;
            }
            let core = &mut guard.core;
            let Some(mut sched) = core.schedules.take() else {
                return;
            };
            let due = sched.scheduled_messages(
                now,
                |seq| core.load(seq).ok(),
                |subject| core.last_msg_of(subject),
            );
            core.schedules = Some(sched);
            due
        };
        for (_, msg) in due {
            process(msg);
        }
    }

    /// Forgets which scheduled messages are on their way (a new leader hands them out
    /// again).
    pub(super) fn clear_schedules_inflight(&self) {
        if let Some(sched) = &mut self.lock().core.schedules {
            sched.clear_inflight();
        }
    }

    /// Every schedule as `(subject, sequence of its message, next fire time)`, sorted by
    /// subject (Go's `fs.scheduling.schedules`).
    #[doc(hidden)]
    pub fn schedules(&self) -> Vec<(String, u64, i64)> {
        let locked = self.lock();
        let mut out: Vec<(String, u64, i64)> = locked
            .core
            .schedules
            .iter()
            .flat_map(|sched| sched.iter())
            .map(|(subject, seq, at)| (subject.to_string(), seq, at))
            .collect();
        out.sort_unstable();
        out
    }

    /// The subject of the schedule whose message is `seq` (Go's
    /// `fs.scheduling.seqToSubj`).
    #[doc(hidden)]
    pub fn schedule_subject_for_seq(&self, seq: u64) -> Option<String> {
        let locked = self.lock();
        let sched = locked.core.schedules.as_ref()?;
        sched.subject_of(seq).map(str::to_string)
    }

    /// Drops the TTL of `seq` while keeping the message, as Go's tests do to its timed
    /// hash wheel to see whether a restart brings it back. Returns whether it had one.
    #[doc(hidden)]
    pub fn forget_ttl(&self, seq: u64) -> bool {
        let mut locked = self.lock();
        locked.core.ttls.remove_seq(seq)
    }

    /// Removes every message of the block at `position` at once, as a limit does (Go's
    /// `purgeMsgBlock`). Returns how many were removed.
    #[doc(hidden)]
    pub fn purge_block_at(&self, position: usize) -> Result<u64, StoreError> {
        let mut guard = self.lock();
        let core = &mut guard.core;
        let blk = core
            .blocks
            .get(position)
            .ok_or_else(|| StoreError::Other("no such block".to_string()))?;
        let seqs: Vec<u64> = blk
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_live())
            .map(|(i, _)| blk.base_seq + i as u64)
            .collect();
        let now = self.shared.clock.now_ns();
        let commit = &self.shared.commit;
        let removed = core.remove_bulk(&seqs, true, now, &|t| commit.mark_synced(t))?;
        Ok(removed.len() as u64)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::file::FileStoreConfig;
    use crate::schedule::{gen_header, JS_SCHEDULE_NEXT, JS_SCHEDULE_TARGET};
    use crate::store::{Clock, ManualClock, StorageType, Store, StreamConfig, NANOS_PER_SEC};
    use std::sync::Arc;

    struct Dir(std::path::PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir().join(format!(
                "natsd-fs-sched-{name}-{}-{}",
                std::process::id(),
                crate::store::SystemClock.now_ns()
            ));
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn cfg() -> StreamConfig {
        StreamConfig {
            name: "S".to_string(),
            subjects: vec!["foo.>".to_string()],
            storage: StorageType::File,
            allow_msg_schedules: true,
            ..StreamConfig::default()
        }
    }

    fn open(dir: &Dir, clock: &Arc<ManualClock>) -> FileStore {
        FileStore::open(FileStoreConfig::new(&dir.0), cfg(), clock.clone()).unwrap()
    }

    fn schedule_hdr(pattern: &str) -> Vec<u8> {
        let hdr = gen_header(&[], JS_SCHEDULE_PATTERN, pattern);
        gen_header(&hdr, JS_SCHEDULE_TARGET, "foo.target")
    }

    /// The next fire time a scheduled message carried survives a restart, from the saved
    /// state and, without it, from the message itself.
    #[test]
    fn next_fire_survives_restart_with_and_without_saved_state() {
        let dir = Dir::new("next");
        let clock = ManualClock::new(1_000 * NANOS_PER_SEC);
        let fs = open(&dir, &clock);
        fs.store_msg("foo.s", &schedule_hdr("@every 10s"), b"", 0)
            .unwrap();
        let moved = 5_000 * NANOS_PER_SEC;
        let produced = gen_header(&[], JS_SCHEDULER, "foo.s");
        let produced = gen_header(
            &produced,
            JS_SCHEDULE_NEXT,
            &crate::schedule::format_rfc3339_nano(moved),
        );
        fs.store_msg("foo.target", &produced, b"", 0).unwrap();
        assert_eq!(fs.next_msg_schedule(), Some(moved));
        fs.stop().unwrap();
        assert!(dir.0.join("msgs").join(SCHEDULE_FILE).exists());

        let fs = open(&dir, &clock);
        assert_eq!(fs.next_msg_schedule(), Some(moved));
        // Taken back and gone: a later crash rebuilds from the blocks instead.
        assert!(!dir.0.join("msgs").join(SCHEDULE_FILE).exists());
        drop(fs);
        let fs = open(&dir, &clock);
        assert_eq!(fs.next_msg_schedule(), Some(moved));
        assert_eq!(fs.schedules(), vec![("foo.s".to_string(), 1, moved)]);
    }

    /// A saved state the stream moved past is not trusted; a plain message on the
    /// schedule's subject ends the schedule again when rebuilding.
    #[test]
    fn outdated_state_is_rebuilt_and_plain_messages_end_schedules() {
        let dir = Dir::new("outdated");
        let clock = ManualClock::new(1_000 * NANOS_PER_SEC);
        let fs = open(&dir, &clock);
        fs.store_msg("foo.a", &schedule_hdr("@at 2100-01-01T00:00:00Z"), b"", 0)
            .unwrap();
        fs.store_msg("foo.b", &schedule_hdr("@at 2100-01-01T00:00:00Z"), b"", 0)
            .unwrap();
        fs.stop().unwrap();
        let saved = fs::read(dir.0.join("msgs").join(SCHEDULE_FILE)).unwrap();

        let fs = open(&dir, &clock);
        // A plain message on foo.a ends its schedule.
        fs.store_msg("foo.a", b"", b"plain", 0).unwrap();
        assert_eq!(fs.schedules().len(), 1);
        drop(fs);
        // A crash leaves the old state behind (as if its removal had been lost).
        fs::write(dir.0.join("msgs").join(SCHEDULE_FILE), saved).unwrap();
        let fs = open(&dir, &clock);
        let subjects: Vec<String> = fs.schedules().into_iter().map(|s| s.0).collect();
        assert_eq!(subjects, vec!["foo.b".to_string()]);
    }

    /// Removing a schedule's message removes the schedule, whichever path removes it.
    #[test]
    fn removals_drop_schedules() {
        let dir = Dir::new("removals");
        let clock = ManualClock::new(1_000 * NANOS_PER_SEC);
        let fs = open(&dir, &clock);
        for i in 0..6 {
            let subject = format!("foo.s{i}");
            fs.store_msg(&subject, &schedule_hdr("@at 2100-01-01T00:00:00Z"), b"", 0)
                .unwrap();
        }
        assert_eq!(fs.schedules().len(), 6);
        fs.remove_msg(1).unwrap();
        fs.purge_ex("foo.s1", 0, 0).unwrap();
        assert_eq!(fs.schedules().len(), 4);
        fs.compact(4).unwrap();
        assert_eq!(fs.schedules().len(), 3);
        fs.truncate(5).unwrap();
        assert_eq!(fs.schedule_subject_for_seq(6), None);
        assert_eq!(fs.schedules().len(), 2);
        fs.purge().unwrap();
        assert!(fs.schedules().is_empty());
        assert_eq!(fs.next_msg_schedule(), None);
    }

    /// A later block holding a copy of a message an older block holds (damage, or a file
    /// put back) is not counted twice, nor is the copy's TTL or schedule.
    #[test]
    fn a_stray_copy_in_a_later_block_is_kept_out() {
        let dir = Dir::new("stray");
        let clock = ManualClock::new(1_000 * NANOS_PER_SEC);
        let cfg = StreamConfig {
            allow_msg_ttl: true,
            ..cfg()
        };
        let fs = FileStore::open(FileStoreConfig::new(&dir.0), cfg.clone(), clock.clone()).unwrap();
        let hdr = gen_header(&[], crate::store::JS_MESSAGE_TTL, "60");
        let hdr = gen_header(&hdr, JS_SCHEDULE_PATTERN, "@at 2100-01-01T00:00:00Z");
        fs.store_msg("foo.a", &hdr, b"A", 60).unwrap();
        fs.new_block_for_write().unwrap();
        fs.store_msg("foo.b", b"", b"B", 0).unwrap();
        let indexes = fs.block_indexes();
        let ts = fs.load_msg(1).unwrap().ts;
        fs.stop().unwrap();
        let msgs_dir = dir.0.join("msgs");
        let codec = crate::file::codec::BlockCodec {
            cipher: crate::file::StoreCipher::None,
            compression: crate::file::BlockCompression::None,
            prf: None,
            old_prf: None,
        };
        let mut last = block::Block::create(&msgs_dir, "S", indexes[1], &codec).unwrap();
        let mut rec = Vec::new();
        crate::file::record::encode(&mut rec, &last.hasher, 1, ts, b"foo.a", &hdr, b"A");
        last.append(&rec).unwrap();
        drop(last);
        fs::remove_file(msgs_dir.join(SCHEDULE_FILE)).unwrap();
        // Without the stream state file: what the blocks say is all there is.
        let _ = fs::remove_file(msgs_dir.join(crate::file::state_file::STATE_FILE));

        let fs = FileStore::open(FileStoreConfig::new(&dir.0), cfg, clock.clone()).unwrap();
        let state = fs.state();
        assert_eq!((state.msgs, state.first_seq, state.last_seq), (1, 1, 1));
        assert_eq!(fs.ttl_count(), 1);
        assert_eq!(fs.schedules().len(), 1);
        assert!(!fs.recovery_report().is_clean());
    }

    /// Turning schedules on rebuilds them from what is stored; off drops them.
    #[test]
    fn config_update_turns_schedules_on_and_off() {
        let dir = Dir::new("config");
        let clock = ManualClock::new(1_000 * NANOS_PER_SEC);
        let mut off = StreamConfig {
            allow_msg_schedules: false,
            ..cfg()
        };
        let fs = FileStore::open(FileStoreConfig::new(&dir.0), off.clone(), clock.clone()).unwrap();
        fs.store_msg("foo.s", &schedule_hdr("@at 2100-01-01T00:00:00Z"), b"", 0)
            .unwrap();
        assert!(fs.schedules().is_empty());
        fs.update_config(&mut cfg()).unwrap();
        assert_eq!(fs.schedules().len(), 1);
        fs.update_config(&mut off).unwrap();
        assert!(fs.schedules().is_empty());
        // Not allowed at stop: nothing saved; not allowed at open: nothing kept.
        fs.stop().unwrap();
        assert!(!dir.0.join("msgs").join(SCHEDULE_FILE).exists());
    }
}
