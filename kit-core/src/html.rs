//! HTML escaping, the mustache spec's default.

use crate::word_scan::{Special, eq_bytes, find_special};

/// The five bytes HTML escaping replaces.
struct InHtml;

impl Special for InHtml {
    #[inline(always)]
    fn marks(v: u64) -> u64 {
        eq_bytes(v, b'&')
            | eq_bytes(v, b'<')
            | eq_bytes(v, b'>')
            | eq_bytes(v, b'"')
            | eq_bytes(v, b'\'')
    }
}

/// Appends `s` to `out` with `& < > " '` replaced by entities: the runs
/// between them are found eight bytes at a time and copied whole.
pub(crate) fn write_escaped(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    loop {
        i = find_special::<InHtml>(b, i);
        let Some(&c) = b.get(i) else { break };
        let rep = match c {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        i += 1;
        start = i;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use crate::xorshift::xorshift;

    #[test]
    fn escapes_the_five() {
        let mut out = String::new();
        super::write_escaped(&mut out, "a & <b> \"c\" 'd'");
        assert_eq!(out, "a &amp; &lt;b&gt; &quot;c&quot; &#39;d&#39;");
    }

    /// One character at a time, as first written.
    fn reference(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '&' => "&amp;".to_owned(),
                '<' => "&lt;".to_owned(),
                '>' => "&gt;".to_owned(),
                '"' => "&quot;".to_owned(),
                '\'' => "&#39;".to_owned(),
                c => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn word_scan_agrees_with_the_reference() {
        let alphabet: Vec<char> = "ab &<>\"'é\u{7f}\u{80}\u{ff}x".chars().collect();
        let mut next = xorshift(0x4854_4D4C_0000_0001);
        for _ in 0..100_000 {
            let len = (next() % 40) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[next() as usize % alphabet.len()])
                .collect();
            let mut out = String::new();
            super::write_escaped(&mut out, &s);
            assert_eq!(out, reference(&s), "{s:?}");
        }
    }
}
