#!/bin/sh
# A stand-in for kubectl in kit's tests. Each run records its arguments
# (one per line) and standard input in $KIT_REC_DIR/N.args and N.stdin
# (N = 1, 2, ...), then exits with $KIT_REC_EXIT (default 0). When its
# arguments contain `--context $KIT_REC_FAIL_CONTEXT`, it exits with
# $KIT_REC_FAIL_CODE instead. When its first argument is $KIT_REC_WAIT
# (`apply`, `rollout`...), it creates N.waiting, says "stand-in: waiting" on
# stderr and waits to be signalled; a SIGTERM is recorded in N.signal and
# ends it with 143.
#
# Read-only queries (`kubectl get ...`) are not numbered: their arguments
# are appended to $KIT_REC_DIR/get.log (one line per query), and the
# stand-in prints the file $KIT_REC_GET_OUT when set (exit 0), else fails
# with exit 1 as a cluster that cannot be queried would.
set -u
dir=${KIT_REC_DIR:?}
if [ "${1:-}" = "get" ]; then
    echo "$*" >> "$dir/get.log"
    if [ -n "${KIT_REC_GET_OUT:-}" ]; then
        cat "$KIT_REC_GET_OUT"
        exit 0
    fi
    exit 1
fi
n=1
while [ -e "$dir/$n.args" ]; do n=$((n + 1)); done
printf '%s\n' "$@" > "$dir/$n.args"
cat > "$dir/$n.stdin"
code=${KIT_REC_EXIT:-0}
prev=""
for a in "$@"; do
    if [ "$prev" = "--context" ] && [ "$a" = "${KIT_REC_FAIL_CONTEXT:-}" ]; then
        code=${KIT_REC_FAIL_CODE:-1}
    fi
    prev=$a
done
if [ "${1:-}" = "${KIT_REC_WAIT:-}" ]; then
    sleep 60 &
    sleeper=$!
    trap 'kill "$sleeper"; echo TERM > "$dir/$n.signal"; exit 143' TERM
    echo "stand-in: waiting" >&2
    : > "$dir/$n.waiting"
    wait "$sleeper"
fi
exit "$code"
