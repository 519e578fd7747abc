//! A timing hash wheel for per-message TTLs (the behaviour of Go's `server/thw`).
//!
//! Each entry is a message sequence and the Unix time in nanoseconds at which it expires.
//! Entries hash by their expiry second into one of 4,096 slots; a slot and the wheel keep
//! the lowest expiry they have seen, so finding nothing to expire is a single comparison.
//! Time is always passed in: nothing here reads a clock.

mod codec;

pub use codec::ENCODED_HEADER_LEN;

use std::collections::HashMap;
use std::fmt;

/// Width of one slot, in nanoseconds.
pub const TICK_NANOS: i64 = 1_000_000_000;
/// log2 of the number of slots.
pub const WHEEL_BITS: u32 = 12;
/// Number of slots.
pub const WHEEL_SIZE: usize = 1 << WHEEL_BITS;
/// Mask turning an expiry second into a slot index.
pub const WHEEL_MASK: i64 = WHEEL_SIZE as i64 - 1;

/// Errors of the hash wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThwError {
    /// No entry for that sequence in the slot of that expiry.
    TaskNotFound,
    /// An encoding with an unknown version byte.
    InvalidVersion,
    /// An encoding shorter than its header.
    ShortBuffer,
    /// An encoding that ends inside its entries.
    UnexpectedEof,
}

impl fmt::Display for ThwError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ThwError::TaskNotFound => "thw: task not found",
            ThwError::InvalidVersion => "thw: encoded version not known",
            ThwError::ShortBuffer => "short buffer",
            ThwError::UnexpectedEof => "unexpected EOF",
        })
    }
}

impl std::error::Error for ThwError {}

/// A sequence and its expiry, as handed out by expiry processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashWheelEntry {
    pub seq: u64,
    /// Unix time in nanoseconds.
    pub expires: i64,
}

#[derive(Debug, Default)]
struct Slot {
    /// Sequence to expiry.
    entries: HashMap<u64, i64>,
    /// A lower bound of the expiries in this slot (exact after adds and expiry runs;
    /// removals leave it as is, which at worst causes one early look).
    lowest: i64,
}

/// The timing wheel.
#[derive(Debug)]
pub struct HashWheel {
    /// Slots are created on first use and dropped when emptied.
    wheel: Vec<Option<Box<Slot>>>,
    /// A lower bound of all expiries in the wheel, `i64::MAX` when there are none.
    lowest: i64,
    count: u64,
}

impl Default for HashWheel {
    fn default() -> HashWheel {
        HashWheel::new()
    }
}

/// Slot index for an expiry. Truncating division and masking also map times before 1970
/// to a valid slot.
fn position(expires: i64) -> usize {
    ((expires / TICK_NANOS) & WHEEL_MASK) as usize
}

impl HashWheel {
    /// An empty wheel.
    pub fn new() -> HashWheel {
        HashWheel {
            wheel: std::iter::repeat_with(|| None).take(WHEEL_SIZE).collect(),
            lowest: i64::MAX,
            count: 0,
        }
    }

    /// Schedules `seq` to expire at `expires` (Unix nanoseconds). Adding a sequence again
    /// into the same slot replaces its expiry.
    pub fn add(&mut self, seq: u64, expires: i64) {
        let slot = self.wheel[position(expires)].get_or_insert_with(|| {
            Box::new(Slot {
                entries: HashMap::new(),
                lowest: i64::MAX,
            })
        });
        if slot.entries.insert(seq, expires).is_none() {
            self.count += 1;
        }
        if expires < slot.lowest {
            slot.lowest = expires;
            self.lowest = self.lowest.min(expires);
        }
    }

    /// Unschedules `seq`, which was added with expiry `expires`.
    pub fn remove(&mut self, seq: u64, expires: i64) -> Result<(), ThwError> {
        let pos = position(expires);
        let slot = self.wheel[pos].as_mut().ok_or(ThwError::TaskNotFound)?;
        slot.entries.remove(&seq).ok_or(ThwError::TaskNotFound)?;
        self.count -= 1;
        if slot.entries.is_empty() {
            self.wheel[pos] = None;
        }
        Ok(())
    }

    /// Moves `seq` from expiry `old_expires` to `new_expires`.
    pub fn update(&mut self, seq: u64, old_expires: i64, new_expires: i64) -> Result<(), ThwError> {
        self.remove(seq, old_expires)?;
        self.add(seq, new_expires);
        Ok(())
    }

    /// Offers every entry expired at `now` (expiry <= `now`, Unix nanoseconds) to
    /// `expire`; entries for which it returns true are removed, the others stay.
    pub fn expire_tasks(&mut self, now: i64, mut expire: impl FnMut(u64, i64) -> bool) {
        if self.lowest > now {
            return;
        }
        let mut lowest = i64::MAX;
        for entry in self.wheel.iter_mut() {
            let Some(slot) = entry else { continue };
            if slot.lowest > now {
                lowest = lowest.min(slot.lowest);
                continue;
            }
            let before = slot.entries.len();
            slot.entries
                .retain(|&seq, &mut expires| !(expires <= now && expire(seq, expires)));
            self.count -= (before - slot.entries.len()) as u64;
            if slot.entries.is_empty() {
                *entry = None;
            } else {
                slot.lowest = slot.entries.values().copied().min().unwrap_or(i64::MAX);
                lowest = lowest.min(slot.lowest);
            }
        }
        self.lowest = lowest;
    }

    /// The earliest expiry if it is before `before`, else `i64::MAX`.
    pub fn next_expiration(&self, before: i64) -> i64 {
        if self.lowest < before {
            self.lowest
        } else {
            i64::MAX
        }
    }

    /// Number of scheduled entries.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The lowest recorded expiry of slot `pos` and its entries (sequence to expiry), or
    /// `None` for an unused slot: what Go's tests read from the wheel directly.
    #[doc(hidden)]
    pub fn slot(&self, pos: usize) -> Option<(i64, &HashMap<u64, i64>)> {
        self.wheel
            .get(pos)?
            .as_deref()
            .map(|s| (s.lowest, &s.entries))
    }
}

#[cfg(test)]
mod tests;
