#!/usr/bin/env bash
# Load benchmark: requests/s and p50/p99 latency of GET one order, directly against the
# WooCommerce sandbox, through the gateway on its embedded store and through a gateway on a
# throwaway Redis (distributed mode), in one run, with the ratios.
# Traffic goes to 127.0.0.1 only; each wrk run stops by itself after $DURATION.
#   benches/load.sh            # defaults: 10s per run, 2 threads, 32 connections
#   DURATION=20s CONNECTIONS=64 benches/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}

if ! command -v wrk >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi
cargo build --release -q
BIN=${CARGO_TARGET_DIR:-target}/release/cartgate
WORK=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$BIN" sandbox woocommerce > "$WORK/sandbox.out" &
for _ in $(seq 50); do [ -s "$WORK/sandbox.out" ] && break; sleep 0.1; done
BANNER=$(head -n1 "$WORK/sandbox.out")
SANDBOX=$(echo "$BANNER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["base_url"])')
CK=$(echo "$BANNER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"]["consumer_key"])')
CS=$(echo "$BANNER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"]["consumer_secret"])')

# start_gateway NAME [ENV=VALUE ...]: a gateway with an account and the sandbox store connected;
# sets GW_<NAME>, KEY_<NAME>, STORE_<NAME>.
start_gateway() {
  local name=$1; shift
  local port; port=$(free_port)
  env CARTGATE_LISTEN=127.0.0.1:$port CARTGATE_DATA_DIR=$WORK/data-$name CARTGATE_ADMIN_TOKEN=bench \
    CARTGATE_ALLOW_PRIVATE_UPSTREAMS=true CARTGATE_RATE_LIMIT_PER_SECOND=1000000 \
    CARTGATE_RATE_LIMIT_BURST=1000000 CARTGATE_LOG=warn "$@" \
    "$BIN" serve 2> "$WORK/gateway-$name.log" &
  local gw=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -sf "$gw/readyz" >/dev/null && break; sleep 0.1; done
  local key store
  key=$(curl -sf -H 'Authorization: Bearer bench' -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' "$gw/admin/accounts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
  store=$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "{\"platform\":\"woocommerce\",\"name\":\"bench\",\"credentials\":$(echo "$BANNER" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["credentials"]))')}" \
    "$gw/v1/stores" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  printf -v "GW_$name" '%s' "$gw"
  printf -v "KEY_$name" '%s' "$key"
  printf -v "STORE_$name" '%s' "$store"
}

start_gateway embedded
GW=$GW_embedded KEY=$KEY_embedded STORE=$STORE_embedded

# The same gateway on a throwaway Redis (distributed mode).
if ! command -v redis-server >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null
fi
REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save "" \
  --appendonly yes --appendfsync everysec --daemonize no --loglevel warning > /dev/null &
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
start_gateway redis CARTGATE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/ \
  CARTGATE_MASTER_KEY="$(head -c32 /dev/urandom | base64)"

ORDER=$(curl -sf -H "Authorization: Bearer $KEY" "$GW/v1/stores/$STORE/orders?limit=1" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
BASIC=$(printf '%s:%s' "$CK" "$CS" | base64 -w0)

run() { # name url auth-header
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$3" "$2" > "$WORK/$1.txt"
  python3 - "$WORK/$1.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def ms(label):
    m = re.search(label + r"\s+([\d.]+)(us|ms|s)", t)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
print(f"{rps:.1f} {ms('50%'):.3f} {ms('99%'):.3f}")
PY
}

read -r D_RPS D_P50 D_P99 < <(run direct "$SANDBOX/wp-json/wc/v3/orders/$ORDER" "Authorization: Basic $BASIC")
read -r G_RPS G_P50 G_P99 < <(run gateway "$GW/v1/stores/$STORE/orders/$ORDER" "Authorization: Bearer $KEY")
read -r R_RPS R_P50 R_P99 < <(run redis "$GW_redis/v1/stores/$STORE_redis/orders/$ORDER" "Authorization: Bearer $KEY_redis")

python3 - "$D_RPS" "$D_P50" "$D_P99" "$G_RPS" "$G_P50" "$G_P99" "$R_RPS" "$R_P50" "$R_P99" <<'PY'
import sys
d_rps, d50, d99, g_rps, g50, g99, r_rps, r50, r99 = map(float, sys.argv[1:])
print("GET one WooCommerce order, wrk", end="\n")
print(f"{'':24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
print(f"{'sandbox direct':24}{d_rps:>10.0f}{d50:>10.2f}{d99:>10.2f}")
print(f"{'through cartgate':24}{g_rps:>10.0f}{g50:>10.2f}{g99:>10.2f}")
print(f"{'through cartgate, Redis':24}{r_rps:>10.0f}{r50:>10.2f}{r99:>10.2f}")
print(f"ratio gateway/direct: throughput {g_rps/d_rps:.2f}x, p50 {g50/d50:.2f}x, p99 {g99/d99:.2f}x")
print(f"ratio Redis/embedded: throughput {r_rps/g_rps:.2f}x, p99 {r99/g99:.2f}x")
PY
