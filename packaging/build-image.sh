#!/usr/bin/env bash
# Builds kit's container image without a Docker engine:
#   bash packaging/build-image.sh TAG [KUBECTL]
# FROM scratch: the static kit from packaging/build-release.sh (built first
# when missing), CA certificates for HTTPS to S3 (Debian's bundle), a
# non-root user (65532), `kit` as the entrypoint, and optionally kubectl
# copied from the path KUBECTL, for `kit apply` in one image. buildah (from
# Debian) builds it with chroot isolation and vfs storage: no daemon, no base
# image to pull. Fails when the image (without kubectl) is over 25 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:?usage: packaging/build-image.sh TAG [KUBECTL]}
kubectl=${2:-}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
bin=target/x86_64-unknown-linux-gnu/dist/kit
[ -x "$bin" ] || bash packaging/build-release.sh
certs=/etc/ssl/certs/ca-certificates.crt
[ -f "$certs" ] || { echo "error: $certs is missing (apt-get install ca-certificates)" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$bin" "$ctx/kit"
cp "$certs" "$ctx/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nkit:x:65532:65532:kit:/work:/sbin/nologin\n' > "$ctx/passwd"
printf 'root:x:0:\nkit:x:65532:\n' > "$ctx/group"
{
    echo "FROM scratch"
    echo "COPY passwd /etc/passwd"
    echo "COPY group /etc/group"
    echo "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt"
    echo "COPY --chmod=0755 kit /usr/local/bin/kit"
    if [ -n "$kubectl" ]; then
        cp "$kubectl" "$ctx/kubectl"
        echo "COPY --chmod=0755 kubectl /usr/local/bin/kubectl"
    fi
    echo "ENV PATH=/usr/local/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
    echo "USER 65532:65532"
    echo "WORKDIR /work"
    echo 'ENTRYPOINT ["/usr/local/bin/kit"]'
} > "$ctx/Containerfile"
buildah bud --quiet --isolation chroot -t "$tag" -f "$ctx/Containerfile" "$ctx" > /dev/null
size=$(buildah inspect --type image --format '{{.Docker.Size}}' "$tag" 2>/dev/null || echo 0)
[ "$size" -gt 0 ] || size=$(du -cb "$ctx/kit" "$ctx/ca-certificates.crt" ${kubectl:+"$ctx/kubectl"} | tail -n 1 | cut -f1)
# The bound is for kit's own image; kubectl, when added, is the caller's.
if [ -z "$kubectl" ] && [ "$size" -gt $((25 * 1024 * 1024)) ]; then
    echo "error: the image is $size bytes, over 25 MB" >&2
    exit 1
fi
echo "image $tag: $size bytes"
