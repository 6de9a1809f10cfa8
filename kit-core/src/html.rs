//! HTML escaping, the mustache spec's default.

/// Appends `s` to `out` with `& < > " '` replaced by entities.
pub(crate) fn write_escaped(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_the_five() {
        let mut out = String::new();
        super::write_escaped(&mut out, "a & <b> \"c\" 'd'");
        assert_eq!(out, "a &amp; &lt;b&gt; &quot;c&quot; &#39;d&#39;");
    }
}
