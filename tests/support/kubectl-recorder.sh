#!/bin/sh
# A stand-in for kubectl in kit's tests. Each run records its arguments
# (one per line) and standard input in $KIT_REC_DIR/N.args and N.stdin
# (N = 1, 2, ..., in the order the runs start), then exits with $KIT_REC_EXIT (default 0). When its
# arguments contain `--context $KIT_REC_FAIL_CONTEXT`, it exits with
# $KIT_REC_FAIL_CODE instead. When its first argument is $KIT_REC_WAIT
# (`apply`, `rollout`...), it creates N.waiting, says "stand-in: waiting" on
# stderr and waits to be signalled; a SIGTERM is recorded in N.signal and
# ends it with 143.
#
# $KIT_REC_FAIL_ONCE, $KIT_REC_SLOW_CONTEXT and $KIT_REC_SAY: see below.
#
# Read-only queries (`kubectl get ...`) are not numbered: their arguments
# are appended to $KIT_REC_DIR/get.log (one line per query), and the
# stand-in prints the file $KIT_REC_GET_OUT when set (exit 0); else, with
# KIT_REC_EMPTY_CLUSTER=1, answers as a new cluster does (its namespaces
# default, kube-public and kube-system, nothing else: nothing for
# `--ignore-not-found`, an empty list for `-o json`); else
# fails with exit 1 as a cluster that cannot be queried would.
set -u
dir=${KIT_REC_DIR:?}
if [ "${1:-}" = "get" ]; then
    echo "$*" >> "$dir/get.log"
    if [ -n "${KIT_REC_GET_OUT:-}" ]; then
        cat "$KIT_REC_GET_OUT"
        exit 0
    fi
    if [ "${KIT_REC_EMPTY_CLUSTER:-}" = 1 ]; then
        case " $* " in
            " get namespaces -o name "*) printf 'namespace/%s\n' default kube-public kube-system ;;
            *" --ignore-not-found "* | *" -o name "*) ;;
            *" -o json "*) echo '{"apiVersion": "v1", "kind": "List", "items": []}' ;;
        esac
        exit 0
    fi
    exit 1
fi
# mkdir is atomic: runs started at once (kit --parallel) take distinct N.
n=1
while ! mkdir "$dir/.$n" 2>/dev/null; do n=$((n + 1)); done
printf '%s\n' "$@" > "$dir/$n.args"
cat > "$dir/$n.stdin"
code=${KIT_REC_EXIT:-0}
prev=""
context=""
for a in "$@"; do
    if [ "$prev" = "--context" ]; then
        context=$a
    fi
    if [ "$prev" = "--context" ] && [ "$a" = "${KIT_REC_FAIL_CONTEXT:-}" ]; then
        code=${KIT_REC_FAIL_CODE:-1}
    fi
    prev=$a
done
# $KIT_REC_FAIL_ONCE: the first run whose first argument it is (`rollout`)
# exits 1, later ones as usual.
if [ "${1:-}" = "${KIT_REC_FAIL_ONCE:-}" ] && mkdir "$dir/.failed-once" 2>/dev/null; then
    code=1
fi
# $KIT_REC_SLOW_CONTEXT: that context's runs take a second.
if [ -n "${KIT_REC_SLOW_CONTEXT:-}" ] && [ "$context" = "$KIT_REC_SLOW_CONTEXT" ]; then
    sleep 1
fi
# $KIT_REC_SAY: each run says two lines on stderr a moment apart and one
# on stdout, naming its context (for output kept per cluster).
if [ -n "${KIT_REC_SAY:-}" ]; then
    echo "stand-in: begins on $context" >&2
    sleep 0.2
    echo "stand-in: $1 on $context"
    echo "stand-in: ends on $context" >&2
fi
if [ "${1:-}" = "${KIT_REC_WAIT:-}" ]; then
    sleep 60 &
    sleeper=$!
    trap 'kill "$sleeper"; echo TERM > "$dir/$n.signal"; exit 143' TERM
    echo "stand-in: waiting" >&2
    : > "$dir/$n.waiting"
    wait "$sleeper"
fi
exit "$code"
