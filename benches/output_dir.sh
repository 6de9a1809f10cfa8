#!/usr/bin/env bash
# `kit render --all --output-dir` against its two bounds, on a fresh ext4
# file system (a loop-mounted image; needs root, else skipped) and on tmpfs:
# the stream (`kit render --all > /dev/null`) and the floor writer
# (benches/examples/floor_writer.rs: the same tree, same bytes, one thread,
# one syncfs, one rename, timed without reading its input). 20 clusters x
# 50 services x 3 templates = 3,000 files. Runs alternate; medians of RUNS
# (default 9). Prints output-dir / max(stream, floor). Not part of CI.
#
#   bash benches/output_dir.sh [KIT_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p kit-cli
cargo build --quiet --release -p kit-benches --example floor_writer
kit=${1:-$PWD/target/release/kit}
floor=$PWD/target/release/examples/floor_writer
runs=${RUNS:-9}
fleet=${FLEET_DIR:-/tmp/kit-fleet-3000}
FLEET_CLUSTERS=20 python3 benches/gen_fleet.py "$fleet" > /dev/null
work=$(mktemp -d)
cleanup() {
    if mountpoint -q "$work/ext4" 2>/dev/null; then umount "$work/ext4"; fi
    rm -rf "$work"
}
trap cleanup EXIT
"$kit" render -C "$fleet" --all --output-dir "$work/source" > /dev/null 2>&1
places=("tmpfs:/dev/shm/kit-output-dir-$$")
if [ "$(id -u)" = 0 ] && command -v mkfs.ext4 > /dev/null; then
    truncate -s 1G "$work/ext4.img"
    mkfs.ext4 -q -F "$work/ext4.img"
    mkdir "$work/ext4"
    mount -o loop "$work/ext4.img" "$work/ext4"
    places=("ext4:$work/ext4" "${places[@]}")
fi
ms() { echo "$(( ($(date +%s%N) - $1) / 1000000 ))"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
for place in "${places[@]}"; do
    name=${place%%:*} dir=${place#*:}
    mkdir -p "$dir"
    stream=() output=() floors=()
    for i in $(seq 1 "$runs"); do
        t=$(date +%s%N); "$kit" render -C "$fleet" --all > /dev/null; stream+=("$(ms "$t")")
        t=$(date +%s%N); "$kit" render -C "$fleet" --all --output-dir "$dir/out-$i" 2> /dev/null; output+=("$(ms "$t")")
        floors+=("$("$floor" "$work/source" "$dir/floor-$i" | awk '{printf "%d", $4}')")
        rm -rf "$dir/out-$i" "$dir/floor-$i"
        sync
    done
    s=$(median "${stream[@]}") o=$(median "${output[@]}") f=$(median "${floors[@]}")
    bound=$(( s > f ? s : f ))
    echo "$name: stream $s ms, floor writer $f ms, --output-dir $o ms: $(echo "scale=2; $o / $bound" | bc)x the larger bound ($runs runs each, medians)"
    [ "$name" = tmpfs ] && rm -rf "$dir"
done
