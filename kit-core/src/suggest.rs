//! "Did you mean ...?" for names that resolve to nothing.

use crate::ast::Name;
use crate::data::Data;

/// Edit distance between two short strings, counting a swap of two
/// neighbouring characters as one edit (optimal string alignment).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = best;
        }
    }
    d[a.len() * w + b.len()]
}

fn closest<'a>(target: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (target.chars().count() / 3).max(1);
    candidates
        .filter_map(|c| {
            let d = if c.eq_ignore_ascii_case(target) {
                0
            } else {
                distance(target, c)
            };
            (d <= limit && c != target).then_some((d, c))
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// A dotted name close to `name` that does resolve in `stack`, if any.
pub(crate) fn suggest(stack: &[Data<'_>], name: &Name) -> Option<String> {
    let parts = &name.parts;
    let first = parts.first()?;
    let Some(mut v) = stack.iter().rev().find_map(|v| v.get(first)) else {
        let all = stack.iter().rev().flat_map(|v| v.keys());
        let best = closest(first, all)?;
        let mut s = best.to_owned();
        for p in &parts[1..] {
            s.push('.');
            s.push_str(p);
        }
        return Some(s);
    };
    for (i, p) in parts.iter().enumerate().skip(1) {
        match v.get(p) {
            Some(next) => v = next,
            None => {
                let best = closest(p, v.keys().into_iter())?;
                let mut s = parts[..i].join(".");
                s.push('.');
                s.push_str(best);
                for rest in &parts[i + 1..] {
                    s.push('.');
                    s.push_str(rest);
                }
                return Some(s);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Key;

    fn name(s: &str) -> Name {
        Name {
            dotted: s.into(),
            parts: s.split('.').map(Key::new).collect(),
        }
    }

    #[test]
    fn suggests_close_names_at_the_level_that_broke() {
        let data = serde_json::json!({"image": {"tag": "1"}, "replicas": 2});
        let stack = [Data::Json(&data)];
        assert_eq!(suggest(&stack, &name("imagee")), Some("image".into()));
        assert_eq!(
            suggest(&stack, &name("image.tga")),
            Some("image.tag".into())
        );
        assert_eq!(suggest(&stack, &name("Replicas")), Some("replicas".into()));
        assert_eq!(suggest(&stack, &name("zzz")), None);
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("tga", "tag"), 1);
    }
}
