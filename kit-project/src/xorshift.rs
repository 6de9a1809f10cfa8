//! A small, seeded random number generator for kit-project's randomized
//! tests (fast paths checked against references): the same seed gives the
//! same cases on every machine, so failures reproduce.

/// Xorshift64: each [`Rng::next`] returns the next number of the sequence.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `from`.
    pub fn pick<'x>(&mut self, from: &[&'x str]) -> &'x str {
        from[self.below(from.len())]
    }
}
