#!/usr/bin/env bash
# Releases with real git, on this machine (not part of CI; prints numbers):
#   1. 16 `kit release` processes started at once from 16 clones, one per
#      service, against one local bare repository: time until all landed;
#   2. `kit status` and `kit history` on a config repository with 10,000
#      release commits (16 services, 625 releases each, made with
#      git fast-import): median of 5 runs each.
#
#   bash benches/releases.sh
#   RELEASES_KEEP=/tmp/big bash benches/releases.sh   # keep the 10,000-commit repository
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p kit-cli
kit=$PWD/target/release/kit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
keep=${RELEASES_KEEP:-}
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

# A project with 16 services, in a bare repository.
project() {
    local dir=$1
    mkdir -p "$dir/secrets/prod/common"
    printf 'bench-checksum-key-0123456789' > "$dir/secrets/prod/common/KIT_CHECKSUM_KEY"
    {
        printf 'environments:\n  prod:\n    clusters:\n      c1:\n        context: c1\nservices:\n'
        for i in $(seq -w 0 15); do printf '  svc-%s:\n    image: registry.example.com/svc-%s:0.1.0\n' "$i" "$i"; done
    } > "$dir/kit.yaml"
    for i in $(seq -w 0 15); do
        mkdir -p "$dir/templates/svc-$i"
        printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{kit.service}}\nspec:\n  selector:\n    matchLabels:\n      app: {{kit.service}}\n  template:\n    metadata:\n      labels:\n        app: {{kit.service}}\n    spec:\n      containers:\n      - name: app\n        image: {{kit.image}}\n' > "$dir/templates/svc-$i/deployment.yaml"
    done
}
git init --quiet --bare -b main "$work/config.git"
git clone --quiet "$work/config.git" "$work/seed" 2>/dev/null
project "$work/seed/deploy"
git -C "$work/seed" checkout --quiet -b main
git -C "$work/seed" add -A
git -C "$work/seed" commit --quiet -m "config"
git -C "$work/seed" push --quiet -u origin main
for i in $(seq -w 0 15); do git clone --quiet "$work/config.git" "$work/job-$i"; done
start=$(date +%s.%N)
pids=()
for i in $(seq -w 0 15); do
    (cd "$work/job-$i" && "$kit" release -C deploy -e prod -s "svc-$i" --image "registry.example.com/svc-$i:1.0.0" --author bench 2> "$work/job-$i.log") &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
end=$(date +%s.%N)
landed=$(git -C "$work/config.git" rev-list --count main)
tries=$(grep -ho '[0-9]* tr[a-z]*)' "$work"/job-*.log | awk '{s += $1} END {print s}')
printf '16 parallel releases: %.2f s until all landed; %d failed; %d commits on main (1 + 16); %d pushes tried in all\n' \
    "$(echo "$end - $start" | bc)" "$failed" "$landed" "$tries"

# 10,000 release commits, made directly with fast-import.
big=$work/big
git init --quiet -b main "$big"
project "$big/deploy"
git -C "$big" add -A
git -C "$big" commit --quiet -m config
python3 - "$big" <<'PY' | git -C "$big" fast-import --quiet
import sys
n, services = 10_000, 16
print("reset refs/heads/main\nfrom refs/heads/main^0")
for c in range(n):
    s = c % services
    rev = c // services + 1
    body = (f"revision: {rev}\nimage: registry.example.com/svc-{s:02}:1.0.{rev}\n"
            f"time: 2026-01-01T00:00:00Z\nauthor: bench\naction: release\n")
    msg = f"kit: release svc-{s:02} in prod (revision {rev})\n"
    print(f"commit refs/heads/main\ncommitter bench <b@example.com> {1767225600 + c} +0000")
    print(f"data {len(msg)}\n{msg}")
    print(f"M 100644 inline deploy/releases/prod/svc-{s:02}.yaml\ndata {len(body)}\n{body}")
PY
git -C "$big" reset --quiet --hard main
echo "repository: $(git -C "$big" rev-list --count main) commits"
median() {
    local times=()
    for _ in 1 2 3 4 5; do
        local t0 t1
        t0=$(date +%s%N)
        "$@" > /dev/null
        t1=$(date +%s%N)
        times+=($(( (t1 - t0) / 1000000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n 3p
}
echo "kit status: median $(median "$kit" status -C "$big/deploy") ms"
echo "kit status --format json: median $(median "$kit" status -C "$big/deploy" --format json) ms"
echo "kit history (625 releases of one service): median $(median "$kit" history -C "$big/deploy" -e prod -s svc-07) ms"
echo "git log of its record file (the floor): median $(median git -C "$big" log --format='%H %ct %s' -- deploy/releases/prod/svc-07.yaml) ms"
if [ -n "$keep" ]; then rm -rf "$keep"; mv "$big" "$keep"; echo "kept: $keep"; fi
