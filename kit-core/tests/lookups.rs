//! Names are looked up where they were found last time first (a hint kept
//! in the compiled template). These tests render one template over and
//! over, on several threads, with data whose shape keeps changing, and
//! check every output against lookups done by hand: a stale hint must never
//! give another key's value.

use kit_core::{Engine, Escape, Template, UndefinedBehavior, Value};
use serde_json::{Map, Value as Json, json};

const NAMES: [&str; 4] = ["a", "b", "cc", "dd"];
const TEMPLATE: &str =
    "{{a}}|{{b}}|{{cc}}|{{dd}}|{{#items}}[{{a}}|{{b}}|{{cc}}|{{dd}}|{{x.a}}|{{x.cc}}]{{/items}}";

fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// A map with some of `NAMES` (values tagged with `tag`) and filler keys,
/// in a random order; sometimes over 16 keys (hashed rather than scanned).
fn random_map(next: &mut impl FnMut() -> u64, tag: &str) -> Map<String, Json> {
    let mut entries: Vec<(String, Json)> = Vec::new();
    for n in NAMES {
        if !next().is_multiple_of(3) {
            entries.push((n.to_string(), Json::from(format!("{tag}{n}"))));
        }
    }
    let filler = if next().is_multiple_of(4) {
        20
    } else {
        next() % 4
    };
    for i in 0..filler {
        // Same lengths and first bytes as the real names, other keys.
        let key = ["e", "bb", "c", "d", "ab"][i as usize % 5].repeat(1 + i as usize / 5);
        if !NAMES.contains(&key.as_str()) {
            entries.push((key, Json::from(i)));
        }
    }
    for i in (1..entries.len()).rev() {
        entries.swap(i, next() as usize % (i + 1));
    }
    entries.into_iter().collect()
}

fn random_data(seed: u64) -> Json {
    let mut next = xorshift(seed);
    let mut root = random_map(&mut next, "root-");
    let items: Vec<Json> = (0..next() % 5)
        .map(|i| {
            let mut item = random_map(&mut next, &format!("item{i}-"));
            if next().is_multiple_of(2) {
                item.insert(
                    "x".into(),
                    Json::Object(random_map(&mut next, &format!("x{i}-"))),
                );
            }
            Json::Object(item)
        })
        .collect();
    root.insert("items".into(), Json::Array(items));
    if next().is_multiple_of(2) {
        root.insert("x".into(), json!({"a": "root-x-a"}));
    }
    Json::Object(root)
}

/// What the template renders, by hand: each name from the innermost map
/// that has it, empty when none does (lenient).
fn expected(data: &Json) -> String {
    fn find<'a>(stack: &[&'a Json], path: &[&str]) -> Option<&'a Json> {
        let mut v = stack.iter().rev().find_map(|m| m.get(path[0]))?;
        for p in &path[1..] {
            v = v.get(p)?;
        }
        Some(v)
    }
    fn text(v: Option<&Json>) -> String {
        match v {
            Some(Json::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    }
    let mut out = String::new();
    for n in NAMES {
        out += &text(find(&[data], &[n]));
        out += "|";
    }
    for item in data["items"].as_array().unwrap() {
        out += "[";
        let stack = [data, item];
        for n in NAMES {
            out += &text(find(&stack, &[n]));
            out += "|";
        }
        out += &text(find(&stack, &["x", "a"]));
        out += "|";
        out += &text(find(&stack, &["x", "cc"]));
        out += "]";
    }
    out
}

/// The template, lenient (a name found nowhere renders empty), unescaped.
fn compiled() -> (Engine, Template) {
    let engine = Engine::new()
        .with_escape(Escape::None)
        .with_undefined(UndefinedBehavior::Lenient);
    let tpl = engine.compile("t", TEMPLATE).unwrap();
    (engine, tpl)
}

#[test]
fn lookups_stay_exact_while_the_data_changes_shape() {
    let (engine, tpl) = compiled();
    for seed in 1..3_000u64 {
        let data = random_data(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let want = expected(&data);
        assert_eq!(tpl.render_json(&engine, &data).unwrap(), want, "{data}");
        assert_eq!(
            tpl.render(&engine, &Value::from(&data)).unwrap(),
            want,
            "{data}"
        );
    }
}

#[test]
fn lookups_stay_exact_with_threads_sharing_a_template() {
    let (engine, tpl) = compiled();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (engine, tpl) = (&engine, &tpl);
            s.spawn(move || {
                for i in 0..500u64 {
                    let data = random_data((t * 1_000 + i + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
                    assert_eq!(tpl.render_json(engine, &data).unwrap(), expected(&data));
                }
            });
        }
    });
}
