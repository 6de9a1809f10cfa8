//! A render allocates its output and nothing else once its template has
//! rendered before on the thread (the output's size is known by then, and
//! the context stack is kept for the next render): integers, dotted names,
//! lists, block scalars and plain values included.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; the
// count is a thread-local cell, which needs no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.set(ALLOCATIONS.get() + 1);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.set(ALLOCATIONS.get() + 1);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

#[test]
fn a_render_allocates_only_its_output() {
    let engine = kit_core::Engine::new();
    let template = engine
        .compile(
            "deployment.yaml",
            "name: {{kit.service}}\nreplicas: {{replicas}}\nimage: repo/{{kit.service}}:{{tag}}\n\
             env:\n{{#env}}\n  - name: {{name}}\n    value: {{value}}\n{{/env}}\n\
             settings: |\n  port={{port}}\n  service={{kit.service}}\n",
        )
        .unwrap();
    let data = serde_json::json!({
        "kit": {"service": "web"},
        "replicas": 3,
        "port": 8080,
        "tag": "1.0.0",
        "env": [{"name": "A", "value": "a"}, {"name": "B", "value": "on"}],
    });
    let value = kit_core::Value::from(&data);
    let first = template.render_json(&engine, &data).unwrap();
    for _ in 0..3 {
        let before = ALLOCATIONS.get();
        let out = template.render_json(&engine, &data).unwrap();
        assert_eq!(ALLOCATIONS.get() - before, 1, "from JSON");
        assert_eq!(out, first);
        let before = ALLOCATIONS.get();
        let out = template.render(&engine, &value).unwrap();
        assert_eq!(ALLOCATIONS.get() - before, 1, "from kit's Value");
        assert_eq!(out, first);
    }
    assert_eq!(
        first,
        "name: web\nreplicas: 3\nimage: repo/web:1.0.0\nenv:\n  - name: A\n    value: a\n  - name: B\n    value: \"on\"\nsettings: |\n  port=8080\n  service=web\n"
    );
}
