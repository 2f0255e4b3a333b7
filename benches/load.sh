#!/usr/bin/env bash
# Load benchmark: requests/s and p50/p99 latency of GET one order, directly against the
# WooCommerce sandbox and through the gateway, in one run, with the ratio.
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

PORT=$(free_port)
export CARTGATE_LISTEN=127.0.0.1:$PORT CARTGATE_DATA_DIR=$WORK/data CARTGATE_ADMIN_TOKEN=bench \
  CARTGATE_ALLOW_PRIVATE_UPSTREAMS=true CARTGATE_RATE_LIMIT_PER_SECOND=1000000 \
  CARTGATE_RATE_LIMIT_BURST=1000000 CARTGATE_LOG=warn
"$BIN" serve 2> "$WORK/gateway.log" &
GW=http://127.0.0.1:$PORT
for _ in $(seq 100); do curl -sf "$GW/healthz" >/dev/null && break; sleep 0.1; done

KEY=$(curl -sf -H 'Authorization: Bearer bench' -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' "$GW/admin/accounts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
STORE=$(curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"platform\":\"woocommerce\",\"name\":\"bench\",\"credentials\":$(echo "$BANNER" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["credentials"]))')}" \
  "$GW/v1/stores" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
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

python3 - "$D_RPS" "$D_P50" "$D_P99" "$G_RPS" "$G_P50" "$G_P99" <<'PY'
import sys
d_rps, d50, d99, g_rps, g50, g99 = map(float, sys.argv[1:])
print("GET one WooCommerce order, wrk", end="\n")
print(f"{'':24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
print(f"{'sandbox direct':24}{d_rps:>10.0f}{d50:>10.2f}{d99:>10.2f}")
print(f"{'through cartgate':24}{g_rps:>10.0f}{g50:>10.2f}{g99:>10.2f}")
print(f"ratio gateway/direct: throughput {g_rps/d_rps:.2f}x, p50 {g50/d50:.2f}x, p99 {g99/d99:.2f}x")
PY
