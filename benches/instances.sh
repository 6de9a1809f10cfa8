#!/usr/bin/env bash
# Bringing up and deleting an instance of the demo (fixtures/demo's
# environment of instances, `preview`, made from its `staging`) on the real API server of ../shared/kube-testbed seen through
# benches/latency_proxy.py (RTT_MS, default 40 ms round trip). Interleaved
# runs (RUNS, default 5), each on a new instance name, of:
#   kit up       kit apply -e preview --instance NAME   (namespace, inventory, stream)
#   shell up     kubectl create namespace + kit render | kubectl apply --server-side
#   kit down     kit delete -e preview --instance NAME --yes
#                (objects, the namespace kit created, the inventory)
#   shell down   kubectl delete namespace (everything in it goes with it)
# Prints each one's median wall time (min..max) and kit's ratio to the
# shell. Not part of CI (about a minute with the test-bed built).
#
#   bash benches/instances.sh
#   RTT_MS=0 RUNS=9 bash benches/instances.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RTT_MS=${RTT_MS:-40}
RUNS=${RUNS:-5}
dir=${INSTANCES_DIR:-/tmp/kit-bench-instances}
kubectl=${KIT_KUBECTL:-kubectl}

. benches/testbed.sh
testbed_up

cargo build --quiet --release -p kit-cli
kit=$PWD/target/release/kit
rm -rf "$dir"
mkdir -p "$dir"
cp -r fixtures/demo/. "$dir/"
# The demo's staging cluster is the test-bed behind the proxy.
sed -i 's/^        context: staging$/        context: bench/' "$dir/kit.yaml"
grep -q '^        context: bench$' "$dir/kit.yaml"
contexts_behind_proxy "$dir" "$RTT_MS" bench
sleep 1
# A first instance, so that every measured run finds the API warm.
"$kit" apply -C "$dir" -e preview --instance warm >"$dir/first.log" 2>&1 || { cat "$dir/first.log" >&2; exit 1; }

shell_up() { # name
    "$kubectl" --context bench create namespace "shop-$1" >/dev/null
    "$kit" render -C "$dir" -e preview --instance "$1" |
        "$kubectl" --context bench apply --server-side --field-manager=kit -f - >/dev/null
}
shell_down() { # name
    "$kubectl" --context bench delete namespace "shop-$1" >/dev/null
}

declare -A times
names=()
measure() { # name command...
    local name=$1
    shift
    [[ " ${names[*]} " == *" $name "* ]] || names+=("$name")
    local t0 t1
    t0=$(date +%s.%N)
    if ! "$@" >"$dir/last.log" 2>&1; then
        echo "failed: $*" >&2
        cat "$dir/last.log" >&2
        exit 1
    fi
    t1=$(date +%s.%N)
    times[$name]+="$(echo "$t1 - $t0" | bc) "
}
for n in $(seq "$RUNS"); do
    measure "kit up" "$kit" apply -C "$dir" -e preview --instance "k-$n"
    measure "shell up" shell_up "s-$n"
    measure "kit down" "$kit" delete -C "$dir" -e preview --instance "k-$n" --yes
    measure "shell down" shell_down "s-$n"
done
echo "an instance of the demo (3 services, 5 objects), RTT $RTT_MS ms, $RUNS interleaved runs (median, min..max, seconds):"
declare -A median
for n in "${names[@]}"; do
    read -r med lo hi < <(tr ' ' '\n' <<<"${times[$n]}" | grep . | sort -n |
        awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }')
    median[$n]=$med
    printf '  %-12s %6.2f  (%.2f..%.2f)\n' "$n" "$med" "$lo" "$hi"
done
ratio() { echo "scale=2; ${median[$1]} / ${median[$2]}" | bc; }
echo "ratios: up kit/shell $(ratio 'kit up' 'shell up'); down kit/shell $(ratio 'kit down' 'shell down')"
