//! Ports of `server/avl/*_test.go`.
mod norace_test;
mod seqset_test;

/// A small random generator (splitmix64) for the randomised tests, seeded from the clock
/// like Go's `math/rand` default source; the seed goes into failure messages.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn from_clock() -> Rng {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x5eed, |d| d.as_nanos() as u64);
        Rng(seed)
    }

    pub(super) fn seed(&self) -> u64 {
        self.0
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Go's `rand.Int63n`); `n` must be positive.
    pub(super) fn below(&mut self, n: u64) -> u64 {
        // Rejection sampling keeps it uniform.
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// Fisher–Yates shuffle (Go's `rand.Shuffle`).
    pub(super) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}
