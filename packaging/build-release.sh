#!/usr/bin/env bash
# Builds kit's release archive: a statically linked x86_64 Linux binary
# (glibc with crt-static: no dynamic dependencies, so it starts on any
# x86_64 Linux runner whatever its libc), then checks it, and writes
#   dist/kit-<version>-x86_64-unknown-linux-gnu.tar.gz (kit, LICENSE notes, README)
#   dist/kit-<version>-x86_64-unknown-linux-gnu.tar.gz.sha256
# Checks, each fatal: no dynamic section, at most 20 MB, `kit --version`,
# the demo rendered, and a host name resolved (S3 endpoints are names).
#
#   bash packaging/build-release.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
name="kit-$version-$target"
# crt-static applies to the target only: with --target, build scripts and
# proc-macros stay ordinary host binaries.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --quiet --locked --profile dist --target "$target" -p kit-cli
bin="target/$target/dist/kit"

fail() { echo "error: $*" >&2; exit 1; }
if readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then
    fail "$bin has dynamic dependencies: $(readelf -d "$bin" | grep NEEDED | tr -s ' ')"
fi
size=$(stat -c %s "$bin")
[ "$size" -le $((20 * 1024 * 1024)) ] || fail "$bin is $size bytes, over 20 MB"
"$bin" --version > /dev/null || fail "$bin --version failed"
"$bin" render -C fixtures/demo -e production -c nerdearla-cluster > /dev/null || fail "the demo did not render"
# A host name (localhost, from /etc/hosts) as the S3 endpoint: the static
# resolver must find it; the request then fails to connect, which is fine.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=$(AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    "$bin" env --secrets-from s3://probe --endpoint-url "http://localhost:$port" --max-attempts 1 \
    -e p -c c -s s 2>&1 || true)
case "$out" in
    *"Connection refused"*|*"connection refused"*) ;;
    *) fail "resolving localhost failed: $out" ;;
esac

mkdir -p dist
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$bin" "$stage/$name/kit"
cp README.md "$stage/$name/"
printf 'kit %s, MIT OR Apache-2.0\n' "$version" > "$stage/$name/LICENSE"
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -czf "dist/$name.tar.gz" "$name"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "dist/$name.tar.gz: $(stat -c %s "dist/$name.tar.gz") bytes (binary $size bytes, static)"
