#!/usr/bin/env bash
# From a fresh runner to the demo rendered, two ways (not part of CI):
#   - the release archive: "download" (a local copy: no network here),
#     verify the checksum, unpack, render;
#   - cargo install from source into an empty target directory (the crate
#     registry already cached, so network time is left out in its favour).
#   bash packaging/bench-install.sh   (after packaging/build-release.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
archive=$(ls dist/kit-*-x86_64-unknown-linux-gnu.tar.gz | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
t0=$(date +%s%N)
cp "$archive" "$archive.sha256" "$work/"
(cd "$work" && sha256sum -c --quiet "$(basename "$archive").sha256" && tar -xzf "$(basename "$archive")")
"$work"/kit-*/kit render -C fixtures/demo -e production -c nerdearla-cluster > /dev/null
t1=$(date +%s%N)
echo "archive: $(( (t1 - t0) / 1000000 )) ms from copy to rendered demo"
t0=$(date +%s)
CARGO_TARGET_DIR="$work/target" cargo install --quiet --locked --path kit-cli --root "$work/inst"
"$work/inst/bin/kit" render -C fixtures/demo -e production -c nerdearla-cluster > /dev/null
t1=$(date +%s)
echo "cargo install: $(( t1 - t0 )) s from nothing to rendered demo"
