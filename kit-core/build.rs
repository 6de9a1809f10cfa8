//! Marks test builds that can run the official mustache spec: when
//! KIT_MUSTACHE_SPEC_DIR is set, `cfg(kit_spec)` is on and the conformance
//! test runs it; otherwise that test shows as ignored, never as passed.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(kit_spec)");
    println!("cargo::rerun-if-env-changed=KIT_MUSTACHE_SPEC_DIR");
    if std::env::var_os("KIT_MUSTACHE_SPEC_DIR").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=kit_spec");
    }
}
