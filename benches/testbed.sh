# Sourced by the benches that run against ../shared/kube-testbed seen
# through benches/latency_proxy.py (fleet_apply.sh, instances.sh).
#
#   testbed_up               builds and starts the test-bed (KUBECONFIG, KT_DIR),
#                            stopped with the proxy when the script exits
#   contexts_behind_proxy DIR RTT_MS NAME...
#                            one context per NAME in DIR/kubeconfig (then
#                            exported as KUBECONFIG), each on a port of its own
#                            that the proxy forwards to the API server with
#                            RTT_MS of round trip
# Needs $kubectl.

proxy=
testbed_up() {
    bash ../shared/kube-testbed/build.sh >/dev/null
    eval "$(bash ../shared/kube-testbed/up.sh)"
    trap testbed_down EXIT
}
testbed_down() {
    [ -z "$proxy" ] || kill "$proxy" 2>/dev/null || true
    bash ../shared/kube-testbed/up.sh down "$KT_DIR" >/dev/null 2>&1 || true
}
contexts_behind_proxy() { # dir rtt_ms name...
    local dir=$1 rtt=$2
    shift 2
    local server target ca user ports port c
    server=$("$kubectl" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
    target=${server##*:}
    ca=$("$kubectl" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
    user=$("$kubectl" config view --minify -o jsonpath='{.contexts[0].context.user}')
    ports=$(python3 -c "
import socket
s = [socket.socket() for _ in range($#)]
for x in s: x.bind(('127.0.0.1', 0))
print(' '.join(str(x.getsockname()[1]) for x in s))")
    cp "$KUBECONFIG" "$dir/kubeconfig"
    export KUBECONFIG=$dir/kubeconfig
    for port in $ports; do
        c=$1
        shift
        "$kubectl" config set-cluster "$c" --server="https://127.0.0.1:$port" >/dev/null
        "$kubectl" config set "clusters.$c.certificate-authority-data" "$ca" >/dev/null
        "$kubectl" config set-context "$c" --cluster="$c" --user="$user" >/dev/null
    done
    # shellcheck disable=SC2086
    python3 benches/latency_proxy.py "$((rtt / 2))" "$target" $ports &
    proxy=$!
}
