//! The store's deleted sequences as blocks (Go's `deleteBlocks`): the deletes inside each
//! block file, and the runs of sequences between blocks that no block holds any more.
//! `sync_deleted` compares a leader's blocks with these to skip what is already deleted.

use crate::avl::SequenceSet;
use crate::store::{DeleteBlock, DeleteRange};

use super::core::Core;

/// One block of deleted sequences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockDeletes {
    /// Sequences deleted inside one block file, between its first live message and the
    /// highest sequence it records (Go's `mb.dmap`).
    Interior(SequenceSet),
    /// Sequences between block files (blocks removed whole, or messages removed from a
    /// block's ends).
    Gap(DeleteRange),
}

impl DeleteBlock for BlockDeletes {
    fn state(&self) -> (u64, u64, u64) {
        match self {
            BlockDeletes::Interior(set) => set.state(),
            BlockDeletes::Gap(range) => range.state(),
        }
    }

    fn range(&self, f: &mut dyn FnMut(u64) -> bool) {
        match self {
            BlockDeletes::Interior(set) => set.range(f),
            BlockDeletes::Gap(range) => DeleteBlock::range(range, f),
        }
    }
}

impl AsRef<dyn DeleteBlock> for BlockDeletes {
    fn as_ref(&self) -> &(dyn DeleteBlock + 'static) {
        self
    }
}

impl Core {
    /// `(first, last)` of each block as Go counts them: the first live message (`last + 1`
    /// when there is none) and the highest sequence recorded. A block holding only
    /// markers of older sequences starts where the previous block ended.
    pub fn block_bounds(&self) -> Vec<(u64, u64)> {
        let mut floor = 0;
        self.blocks
            .iter()
            .map(|b| {
                let last = b.max_seq.max(floor);
                floor = last;
                (b.first_live().unwrap_or(last + 1), last)
            })
            .collect()
    }

    /// The deleted sequences between the first and the last block, as blocks.
    pub fn delete_blocks(&self) -> Vec<BlockDeletes> {
        let mut out = Vec::new();
        let mut prev_last = 0;
        // The gap block that a following gap may extend, when no message came between.
        let mut open_gap: Option<usize> = None;
        let mut msgs_since_gap = false;
        for (b, (first, last)) in self.blocks.iter().zip(self.block_bounds()) {
            if prev_last > 0 && first > prev_last + 1 {
                let gap = first - prev_last - 1;
                match open_gap {
                    Some(i) if !msgs_since_gap => {
                        if let BlockDeletes::Gap(range) = &mut out[i] {
                            range.num += gap;
                        }
                    }
                    _ => {
                        open_gap = Some(out.len());
                        msgs_since_gap = false;
                        out.push(BlockDeletes::Gap(DeleteRange {
                            first: prev_last + 1,
                            num: gap,
                        }));
                    }
                }
            }
            let interior: SequenceSet = match b.first_live() {
                Some(first_live) => (first_live..=b.max_seq)
                    .filter(|&seq| !b.slot(seq).is_some_and(|s| s.is_live()))
                    .collect(),
                None => SequenceSet::new(),
            };
            if !interior.is_empty() {
                out.push(BlockDeletes::Interior(interior));
                open_gap = None;
            }
            prev_last = last;
            msgs_since_gap = msgs_since_gap || b.live_msgs > 0;
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::file::{FileStore, FileStoreConfig};
    use crate::store::{ManualClock, StorageType, Store, StreamConfig};

    fn open(dir: &std::path::Path) -> FileStore {
        let fcfg = FileStoreConfig {
            block_size: 128,
            ..FileStoreConfig::new(dir)
        };
        let cfg = StreamConfig {
            name: "S".to_string(),
            storage: StorageType::File,
            ..StreamConfig::default()
        };
        FileStore::open(fcfg, cfg, ManualClock::starting_now()).unwrap()
    }

    #[test]
    fn interior_deletes_and_gaps_between_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let fs = open(dir.path());
        // 33-byte records, three per 128-byte block: [1,3] [4,6] [7,9].
        for _ in 0..9 {
            fs.store_msg("foo", b"", b"", 0).unwrap();
        }
        assert_eq!(fs.block_bounds(), vec![(1, 3), (4, 6), (7, 9)]);
        fs.remove_msg(2).unwrap();
        for seq in 4..=6 {
            fs.remove_msg(seq).unwrap();
        }
        let dbs = fs.delete_blocks();
        let mut interior = SequenceSet::new();
        interior.insert(2);
        assert_eq!(
            dbs,
            vec![
                BlockDeletes::Interior(interior),
                BlockDeletes::Gap(DeleteRange { first: 4, num: 3 }),
            ]
        );
    }

    #[test]
    fn sync_deleted_removes_what_the_leader_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let fs = open(dir.path());
        for _ in 0..9 {
            fs.store_msg("foo", b"", b"", 0).unwrap();
        }
        fs.remove_msg(2).unwrap();
        let mut sparse = SequenceSet::new();
        sparse.insert(2);
        sparse.insert(8);
        let leader: Vec<Box<dyn DeleteBlock>> = vec![
            Box::new(sparse),
            Box::new(DeleteRange { first: 4, num: 3 }),
            // Past the last sequence: ignored.
            Box::new(DeleteRange { first: 50, num: 3 }),
        ];
        fs.sync_deleted(&leader).unwrap();
        let state = fs.state();
        assert_eq!(state.deleted, vec![2, 4, 5, 6, 8]);
        assert_eq!(state.msgs, 4);
        // The whole middle block went with its messages.
        assert!(!fs
            .block_bounds()
            .iter()
            .any(|&(first, _)| (4..=6).contains(&first)));
        assert_eq!(fs.block_bounds()[..2], [(1, 3), (7, 9)]);
    }
}
