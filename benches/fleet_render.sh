#!/usr/bin/env bash
# kit render end to end on a generated fleet: 30 clusters x 50 services x 3
# templates with local secrets (benches/gen_fleet.py), through the release
# binary, `kit render --all`. Prints the median wall time of 5 runs, the
# peak memory (max RSS), and the output size. Not part of CI.
#
#   bash benches/fleet_render.sh
#   FLEET_RELEASES=1 bash benches/fleet_render.sh   # with release records
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${FLEET_DIR:-/tmp/kit-fleet}
python3 benches/gen_fleet.py "$dir" ${FLEET_RELEASES:+--releases}
cargo build --quiet --release -p kit-cli
times=$(mktemp)
for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%e %M" -a -o "$times" target/release/kit render -C "$dir" --all > "$dir/out.yaml"
done
docs=$(grep -c '^# Source:' "$dir/out.yaml")
bytes=$(wc -c < "$dir/out.yaml")
sort -n "$times" | awk -v docs="$docs" -v bytes="$bytes" '
    { wall[NR] = $1; if ($2 > rss) rss = $2 }
    END { printf "kit render --all: %d documents, %.1f MB; median wall %.2f s (min %.2f, max %.2f, 5 runs); peak RSS %.1f MB\n",
          docs, bytes / 1e6, wall[3], wall[1], wall[5], rss / 1024 }'
