#!/usr/bin/env bash
# Runs kit's image as a CI job would, with buildah (no container engine):
#   bash packaging/test-image.sh TAG
# Checks: the entrypoint is kit and runs as user 65532, not root;
# `kit --version`; the demo rendered from a mounted project, byte for byte
# what fixtures/demo/expected holds; a missing project is a clear error
# (exit 4); a host name resolves (S3 endpoints are names). Prints 'N passed, N failed'.
set -uo pipefail
cd "$(dirname "$0")/.."
tag=${1:?usage: packaging/test-image.sh TAG}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
passed=0
failed=0
check() { # name, then a command that must succeed
    local name=$1
    shift
    if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
ctr=$(buildah from --quiet "$tag")
trap 'buildah rm "$ctr" > /dev/null 2>&1' EXIT
run() { buildah run --isolation chroot "$@"; }
check "entrypoint is kit" test "$(buildah inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "$tag")" = "[/usr/local/bin/kit]"
check "runs as a non-root user" test "$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$tag")" = "65532:65532"
check "kit --version" bash -c "buildah run --isolation chroot --user 65532:65532 '$ctr' -- /usr/local/bin/kit --version | grep -q '^kit '"
demo=$(mktemp -d)
cp -r fixtures/demo "$demo/demo"
chmod -R a+rX "$demo"
out=$(mktemp)
run --user 65532:65532 -v "$demo/demo:/work/demo:ro" "$ctr" -- /usr/local/bin/kit render -C /work/demo -e production -c nerdearla-cluster > "$out"
check "the demo from a mounted project" cmp -s "$out" fixtures/demo/expected/production-nerdearla-cluster.yaml
err=$(mktemp)
run --user 65532:65532 "$ctr" -- /usr/local/bin/kit render -C /work/nope -e production -c x > "$out" 2> "$err"
code=$?
check "a missing project: exit 4" test "$code" = 4
check "a missing project: nothing on stdout" test ! -s "$out"
check "a missing project: a clear message" grep -q "^error: cannot read /work/nope/kit.yaml" "$err"
# A host name resolves inside the image (no NSS libraries in a scratch
# image): the request to localhost:1 must fail to connect, not to resolve.
buildah config --env AWS_ACCESS_KEY_ID=x --env AWS_SECRET_ACCESS_KEY=y --env AWS_REGION=us-east-1 \
    --env AWS_EC2_METADATA_DISABLED=true "$ctr"
run --user 65532:65532 "$ctr" -- /usr/local/bin/kit env --secrets-from s3://probe \
    --endpoint-url http://localhost:1 --max-attempts 1 -e p -c c -s s > "$out" 2> "$err"
check "host names resolve in the image" grep -qi "connection refused" "$err"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
