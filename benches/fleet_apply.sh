#!/usr/bin/env bash
# `kit apply --all` over a fleet behind network latency: 8 clusters x 30
# objects (10 services x 3 templates, benches/gen_fleet.py), each cluster a
# kube context of the real API server of ../shared/kube-testbed seen through
# its own port of benches/latency_proxy.py and its own namespace (RTT_MS, default 40 ms round
# trip). Interleaved runs (RUNS, default 5) of:
#   sequential   kit apply --all --parallel 1   (kit before --parallel)
#   parallel     kit apply --all                 (--parallel 8, the default)
#   parallel 4   kit apply --all --parallel 4
#   shell        the same renders piped to kubectl apply --server-side, one
#                background job per cluster (the floor kit is held to)
# and the same for `kit diff --all` and `kit status --live` (sequential,
# parallel, and kubectl's diff / get of every cluster at once in a shell). Prints each one's median wall time (min..max) and the
# ratios. Not part of CI (about 3 minutes with the test-bed built).
#
#   bash benches/fleet_apply.sh
#   RTT_MS=0 RUNS=3 bash benches/fleet_apply.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RTT_MS=${RTT_MS:-40}
RUNS=${RUNS:-5}
CLUSTERS=8
dir=${FLEET_DIR:-/tmp/kit-fleet-apply}
kubectl=${KIT_KUBECTL:-kubectl}

. benches/testbed.sh
testbed_up

rm -rf "$dir"
FLEET_CLUSTERS=$CLUSTERS FLEET_SERVICES=10 FLEET_NAME=fleet python3 benches/gen_fleet.py "$dir"
cargo build --quiet --release -p kit-cli
kit=$PWD/target/release/kit

# One port per cluster, each a context of its own.
contexts_behind_proxy "$dir" "$RTT_MS" $(for i in $(seq 0 $((CLUSTERS - 1))); do printf 'cluster-%02d ' "$i"; done)
sleep 1
# The first apply creates everything; the runs measured re-apply it (what
# a CI job on an unchanged fleet does).
if ! "$kit" apply -C "$dir" --all --create-namespace >"$dir/first.log" 2>&1; then
    cat "$dir/first.log" >&2
    exit 1
fi

# The floors kit is held to: the same per-cluster work by kubectl, all
# clusters at once. `shell_piped VERB` pipes each cluster's rendered stream
# to `kubectl VERB --server-side` (apply, diff); live status is one `get`
# of the workload kinds by kit's cluster label.
shell_piped() {
    local verb=$1 pids=()
    for i in $(seq 0 $((CLUSTERS - 1))); do
        c=$(printf 'cluster-%02d' "$i")
        "$kit" render -C "$dir" -e production -c "$c" |
            "$kubectl" "$verb" --server-side --field-manager=kit --force-conflicts --context "$c" -f - >/dev/null &
        pids+=($!)
    done
    # kubectl diff exits 1 when there are differences.
    wait "${pids[@]}" || [ "$verb" = diff ]
}
shell_status() {
    local pids=()
    for i in $(seq 0 $((CLUSTERS - 1))); do
        c=$(printf 'cluster-%02d' "$i")
        "$kubectl" get deployments.apps,statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch,pods \
            -A -l "kit.dev/cluster=$c" -o json --context "$c" >/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"
}

declare -A times
names=()
measure() { # name command...
    local name=$1
    shift
    [[ " ${names[*]} " == *" $name "* ]] || names+=("$name")
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    times[$name]+="$(echo "$t1 - $t0" | bc) "
}
for _ in $(seq "$RUNS"); do
    measure "apply --parallel 1" "$kit" apply -C "$dir" --all --parallel 1
    measure "apply (default 8)" "$kit" apply -C "$dir" --all
    measure "apply --parallel 4" "$kit" apply -C "$dir" --all --parallel 4
    measure "shell, 8 at once" shell_piped apply
    measure "diff --parallel 1" "$kit" diff -C "$dir" --all --parallel 1
    measure "diff (default 8)" "$kit" diff -C "$dir" --all
    measure "diff shell, 8 at once" shell_piped diff
    measure "status --live --parallel 1" "$kit" status -C "$dir" --live --parallel 1
    measure "status --live (default 8)" "$kit" status -C "$dir" --live
    measure "status shell, 8 at once" shell_status
done
echo "kit apply/diff/status over $CLUSTERS clusters x 30 objects, RTT $RTT_MS ms, $RUNS interleaved runs (median, min..max, seconds):"
declare -A median
for n in "${names[@]}"; do
    read -r med lo hi < <(tr ' ' '\n' <<<"${times[$n]}" | grep . | sort -n |
        awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }')
    median[$n]=$med
    printf '  %-28s %6.2f  (%.2f..%.2f)\n' "$n" "$med" "$lo" "$hi"
done
ratio() { echo "scale=2; ${median[$1]} / ${median[$2]}" | bc; }
echo "ratios: apply sequential/default $(ratio 'apply --parallel 1' 'apply (default 8)');" \
    "default/shell $(ratio 'apply (default 8)' 'shell, 8 at once');" \
    "--parallel 4/shell $(ratio 'apply --parallel 4' 'shell, 8 at once');" \
    "diff sequential/default $(ratio 'diff --parallel 1' 'diff (default 8)');" \
    "diff default/shell $(ratio 'diff (default 8)' 'diff shell, 8 at once');" \
    "status sequential/default $(ratio 'status --live --parallel 1' 'status --live (default 8)');" \
    "status default/shell $(ratio 'status --live (default 8)' 'status shell, 8 at once')"
