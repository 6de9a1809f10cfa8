#!/usr/bin/env bash
# Starts a single-node Garage (an S3 server whose LIST is indexed) on
# 127.0.0.1 for timing kit's secret resolution, and prints the environment
# the fleet bench reads. Garage is not part of CI (it takes ~10 minutes to
# build): `cargo install garage --locked` first.
#
#   eval "$(bash benches/garage/start.sh)"
#   cargo bench -p kit-benches --bench fleet_secrets
set -euo pipefail
dir=${GARAGE_DIR:-/tmp/kit-garage}
mkdir -p "$dir/meta" "$dir/data"
cat > "$dir/garage.toml" <<TOML
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:3901"
rpc_public_addr = "127.0.0.1:3901"
rpc_secret = "$(printf '%064x' 7)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:3900"
root_domain = ".s3.garage.localhost"
TOML
g() { garage -c "$dir/garage.toml" "$@"; }
if ! g status >/dev/null 2>&1; then
    nohup garage -c "$dir/garage.toml" server > "$dir/server.log" 2>&1 &
    for _ in $(seq 1 100); do g status >/dev/null 2>&1 && break; sleep 0.1; done
fi
node=$(g status 2>/dev/null | awk '/^[0-9a-f]{16}/ {print $1; exit}')
if g layout show 2>/dev/null | grep -q "No nodes currently have a role"; then
    g layout assign -z dc1 -c 1G "$node" >/dev/null
    g layout apply --version 1 >/dev/null
fi
g bucket info kit-bench >/dev/null 2>&1 || g bucket create kit-bench >/dev/null
if ! g key info kit-bench >/dev/null 2>&1; then g key create kit-bench >/dev/null; fi
g bucket allow --read --write --owner kit-bench --key kit-bench >/dev/null
info=$(g key info kit-bench --show-secret)
echo "export KIT_BENCH_S3_ENDPOINT=http://127.0.0.1:3900"
echo "export KIT_BENCH_S3_BUCKET=kit-bench"
echo "export KIT_BENCH_S3_REGION=garage"
echo "export AWS_ACCESS_KEY_ID=$(echo "$info" | awk '/Key ID/ {print $NF}')"
echo "export AWS_SECRET_ACCESS_KEY=$(echo "$info" | awk '/Secret key/ {print $NF}')"
