//! Finding the bytes of a string that need attention, eight at a time
//! (SWAR: one `u64` holds eight bytes): the YAML scalar checks and the HTML
//! escaper skip the bytes they write as they are, and stop at the others.
//! On x86-64 the YAML checks go sixteen at a time with SSE2 compares
//! ([`control_and`]); the words stay their reference in the tests.

const ONES: u64 = 0x0101_0101_0101_0101;
const LOWS: u64 = 0x7F7F_7F7F_7F7F_7F7F;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `v` that equals `byte` (exact: no false
/// positives from borrows between bytes).
#[inline(always)]
pub(crate) fn eq_bytes(v: u64, byte: u8) -> u64 {
    let x = v ^ (ONES * byte as u64);
    !(((x & LOWS) + LOWS) | x) & HIGHS
}

/// The high bit of each byte of `v` below `n` (`n <= 0x80`).
#[inline(always)]
pub(crate) fn below(v: u64, n: u8) -> u64 {
    !(((v & LOWS) + ONES * (0x80 - n as u64)) | v) & HIGHS
}

/// The high bit of each byte of `v` that is DEL or not ASCII.
#[inline(always)]
pub(crate) fn del_or_non_ascii(v: u64) -> u64 {
    (((v & LOWS) + ONES) | v) & HIGHS
}

/// Which bytes of a word need a second look: the high bit of each. A type
/// per classifier (not a closure), so that each scan is compiled with its
/// classifier inlined.
pub(crate) trait Special {
    fn marks(v: u64) -> u64;

    /// Whether the classifier has a vector [`Special::mask_of_16`] (then
    /// scans go sixteen bytes at a time).
    const SIXTEEN: bool = false;

    /// The sixteen bytes of `lo` then `hi`, one bit each (bit `i` for
    /// byte `i`), set when marked. By default [`word_mask`].
    #[inline(always)]
    fn mask_of_16(lo: u64, hi: u64) -> u32 {
        word_mask::<Self>(lo, hi)
    }

    /// Whether any of the sixteen bytes of `lo` and `hi` is marked.
    #[inline(always)]
    fn any_of_16(lo: u64, hi: u64) -> bool {
        if Self::SIXTEEN {
            Self::mask_of_16(lo, hi) != 0
        } else {
            Self::marks(lo) | Self::marks(hi) != 0
        }
    }
}

/// [`Special::mask_of_16`] from the words' marks (each marked byte's high
/// bit gathered into one bit): the default, and the reference the vector
/// checks are tested against.
#[inline(always)]
pub(crate) fn word_mask<S: Special + ?Sized>(lo: u64, hi: u64) -> u32 {
    let bits = |m: u64| ((m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32;
    bits(S::marks(lo)) | bits(S::marks(hi)) << 8
}

/// The mask of [`Special::mask_of_16`] for the YAML classifiers: bytes
/// below 0x20, DEL, non-ASCII, and the bytes of `also`, with SSE2 compares
/// (below 0x20 or above 0x7E is "below 0x20" as a signed byte, or 0x7F).
/// The compiler does not find this from a loop over the bytes, nor from
/// the words. Elsewhere than x86-64 the classifiers keep their words.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn control_and<const K: usize>(lo: u64, hi: u64, also: [u8; K]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };
    // SAFETY: these intrinsics only need SSE2, which this build has (the
    // cfg above: every x86-64 processor has it); they compute on values in
    // registers, no memory is read or written.
    unsafe {
        let v = _mm_set_epi64x(hi as i64, lo as i64);
        let mut m = _mm_or_si128(
            _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)),
        );
        for c in also {
            m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8)));
        }
        _mm_movemask_epi8(m) as u32
    }
}

/// Filler for the bytes past the end of a short string: a byte no
/// classifier marks.
const FILLER: u64 = ONES * b'a' as u64;

/// Whether `S` marks any of the 1 to 16 bytes of `b`: two overlapping
/// words, or one padded with [`FILLER`].
#[inline(always)]
pub(crate) fn any_marked_up_to_16<S: Special>(b: &[u8]) -> bool {
    let n = b.len();
    if n >= 8 {
        let word = |w: &[u8]| u64::from_le_bytes(w.try_into().unwrap_or([b'a'; 8]));
        S::any_of_16(word(&b[..8]), word(&b[n - 8..]))
    } else {
        let w = load_short(b) | (FILLER & !((1u64 << (8 * n)) - 1));
        S::any_of_16(w, w)
    }
}

/// The 1 to 7 bytes of `b` as the low bytes of a word (the rest zero),
/// without a variable-length copy: two overlapping loads.
#[inline(always)]
pub(crate) fn load_short(b: &[u8]) -> u64 {
    let n = b.len();
    if n >= 4 {
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
        let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]) as u64;
        lo | hi << (8 * (n - 4))
    } else if n > 0 {
        b[0] as u64 | (b[n / 2] as u64) << (8 * (n / 2)) | (b[n - 1] as u64) << (8 * (n - 1))
    } else {
        0
    }
}

/// The index of the first byte at or after `i` that `S` marks (the
/// high bit of its byte in the word), or `b.len()`. Reads eight bytes at a
/// time; the last word of a string of eight bytes or more overlaps the one
/// before, the marks past the end of a shorter string are masked off.
#[inline(always)]
pub(crate) fn find_special<S: Special>(b: &[u8], mut i: usize) -> usize {
    let word = |w: &[u8]| u64::from_le_bytes(w.try_into().unwrap_or([b'a'; 8]));
    if S::SIXTEEN && b.len() >= 16 {
        // Sixteen bytes at a time; the last sixteen overlap the ones before.
        let n = b.len();
        while i < n {
            let start = i.min(n - 16);
            let mask = S::mask_of_16(word(&b[start..start + 8]), word(&b[start + 8..start + 16]))
                >> (i - start);
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i = start + 16;
        }
        return n;
    }
    while i < b.len() {
        let marks = if i + 8 <= b.len() {
            S::marks(word(&b[i..i + 8]))
        } else if b.len() >= 8 {
            let start = b.len() - 8;
            S::marks(word(&b[start..])) >> (8 * (i - start))
        } else {
            let rest = &b[i..];
            S::marks(load_short(rest)) & ((1u64 << (8 * rest.len())) - 1)
        };
        if marks != 0 {
            return i + (marks.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    b.len()
}
