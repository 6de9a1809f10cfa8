#!/usr/bin/env bash
# Start-up of a kit binary (default: the release archive's static binary,
# built by packaging/build-release.sh) against /bin/true and a hello-world
# Rust binary: mean wall time of 300 runs each (`perf stat -r`), and page
# faults. Not part of CI (needs `perf`).
#
#   bash benches/startup.sh [KIT_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
kit=${1:-target/x86_64-unknown-linux-gnu/dist/kit}
# Built again when older than the sources.
if [ ! -x "$kit" ] || [ -n "$(find kit-*/src kit-cli/Cargo.toml Cargo.lock -newer "$kit" -print -quit)" ]; then
    bash packaging/build-release.sh >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'fn main() { println!("hello"); }\n' > "$tmp/hello.rs"
rustc -O -C target-feature=+crt-static -o "$tmp/hello" "$tmp/hello.rs"
run() {
    local what=$1
    shift
    # A run that fails is not a start-up time.
    if ! "$@" >/dev/null 2>"$tmp/err"; then
        echo "startup.sh: $what failed:" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
    perf stat -r 300 -e page-faults "$@" 2>&1 >/dev/null |
        awk -v what="$what" '/page-faults/ { pf = $1 } /time elapsed/ { ms = $1 * 1000 }
             END { printf "%-28s %6.2f ms  %4d page faults\n", what, ms, pf }'
}
run "/bin/true" /bin/true
run "hello world (Rust, static)" "$tmp/hello"
run "kit --version" "$kit" --version
run "kit template" "$kit" template fixtures/template/deployment.yaml --data fixtures/template/data.yaml
run "kit render (demo, 1 target)" "$kit" render -C fixtures/demo --environment production --cluster nerdearla-cluster
