//! Marks test builds that can run the cluster suite: when
//! KIT_TEST_KUBECONFIG is set (a kubeconfig of `../shared/kube-testbed`),
//! `cfg(kit_cluster)` is on and the tests in `tests/cli_cluster.rs` run
//! against that API server; otherwise they show as ignored, never as
//! passed.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(kit_cluster)");
    println!("cargo::rerun-if-env-changed=KIT_TEST_KUBECONFIG");
    if std::env::var_os("KIT_TEST_KUBECONFIG").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=kit_cluster");
    }
}
