//! A small, seeded random number generator for kit-core's randomized tests
//! (fast paths checked against their one-character-at-a-time references):
//! the same seed gives the same cases on every machine.

/// Xorshift64: each call returns the next number of the sequence.
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// `count` strings of 0 to 47 characters, three in four `a` (so that whole
/// clean words occur), the others from `alphabet`.
pub(crate) fn mostly_a(seed: u64, alphabet: &str, count: usize) -> Vec<String> {
    let alphabet: Vec<char> = alphabet.chars().collect();
    let mut next = xorshift(seed);
    (0..count)
        .map(|_| {
            let len = (next() % 48) as usize;
            (0..len)
                .map(|_| {
                    let r = next();
                    if !r.is_multiple_of(4) {
                        'a'
                    } else {
                        alphabet[(r as usize / 4) % alphabet.len()]
                    }
                })
                .collect()
        })
        .collect()
}
