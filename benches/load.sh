#!/usr/bin/env bash
# Load benchmark: requests/s and p50/p99 latency of GET one order, for every platform,
# directly against its sandbox (with the request the connector itself sends) and through the
# gateway, plus the WooCommerce call through a gateway on a throwaway Redis (distributed
# mode), all in one run, with the ratios.
# Traffic goes to 127.0.0.1 only; each wrk run stops by itself after $DURATION.
#   benches/load.sh            # defaults: 10s per run, 2 threads, 32 connections
#   DURATION=20s CONNECTIONS=64 benches/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
PLATFORMS=(woocommerce shopify magento)

install() { # command package
  command -v "$1" >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq "$2") >/dev/null
}
install wrk wrk
install redis-server redis-server
cargo build --release -q
cargo build --release -q -p cartgate-shopify --example order_request
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/cartgate
WORK=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { python3 -c "import json,sys; v=json.load(sys.stdin); print($1)"; }

# One sandbox per platform.
declare -A BANNER BASE
for p in "${PLATFORMS[@]}"; do
  "$BIN" sandbox "$p" > "$WORK/sandbox-$p.out" 2>/dev/null &
  for _ in $(seq 50); do [ -s "$WORK/sandbox-$p.out" ] && break; sleep 0.1; done
  BANNER[$p]=$(head -n1 "$WORK/sandbox-$p.out")
  BASE[$p]=$(echo "${BANNER[$p]}" | field 'v["base_url"]')
done

# start_gateway NAME [ENV=VALUE ...]: a gateway with an account and one store per platform;
# sets GW_<NAME>, KEY_<NAME> and STORE_<NAME>_<platform>.
start_gateway() {
  local name=$1; shift
  local port; port=$(free_port)
  env CARTGATE_LISTEN=127.0.0.1:$port CARTGATE_DATA_DIR=$WORK/data-$name CARTGATE_ADMIN_TOKEN=bench \
    CARTGATE_ALLOW_PRIVATE_UPSTREAMS=true CARTGATE_RATE_LIMIT_PER_SECOND=1000000 \
    CARTGATE_RATE_LIMIT_BURST=1000000 CARTGATE_LOG=warn "$@" \
    "$BIN" serve 2> "$WORK/gateway-$name.log" &
  local gw=http://127.0.0.1:$port
  for _ in $(seq 100); do curl -sf "$gw/readyz" >/dev/null && break; sleep 0.1; done
  local key
  key=$(curl -sf -H 'Authorization: Bearer bench' -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' "$gw/admin/accounts" | field 'v["api_key"]')
  printf -v "GW_$name" '%s' "$gw"
  printf -v "KEY_$name" '%s' "$key"
  for p in "${PLATFORMS[@]}"; do
    local creds store
    creds=$(echo "${BANNER[$p]}" | field 'json.dumps(v["credentials"])')
    store=$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -d "{\"platform\":\"$p\",\"name\":\"bench\",\"credentials\":$creds}" "$gw/v1/stores" | field 'v["id"]')
    printf -v "STORE_${name}_$p" '%s' "$store"
  done
}

start_gateway embedded

# The same gateway on a throwaway Redis (distributed mode).
REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --save "" \
  --appendonly yes --appendfsync everysec --daemonize no --loglevel warning > /dev/null &
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
start_gateway redis CARTGATE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/ \
  CARTGATE_MASTER_KEY="$(head -c32 /dev/urandom | base64)"

run() { # name url auth-header [lua-script]
  local script=()
  [ -n "${4:-}" ] && script=(-s "$4")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$3" "${script[@]}" "$2" > "$WORK/$1.txt"
  python3 - "$WORK/$1.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def ms(label):
    m = re.search(label + r"\s+([\d.]+)(us|ms|s)", t)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
if non2xx:
    sys.exit(f"{sys.argv[1]}: {non2xx.group(1)} failed responses")
print(f"{rps:.1f} {ms('50%'):.3f} {ms('99%'):.3f}")
PY
}

RESULTS=$WORK/results.txt
for p in "${PLATFORMS[@]}"; do
  store_var="STORE_embedded_$p"
  order=$(curl -sf -H "Authorization: Bearer $KEY_embedded" "$GW_embedded/v1/stores/${!store_var}/orders?limit=1" | field 'v["data"][0]["id"]')
  creds=$(echo "${BANNER[$p]}" | field 'json.dumps(v["credentials"])')
  case $p in
    woocommerce)
      basic=$(echo "$creds" | field 'v["consumer_key"] + ":" + v["consumer_secret"]' | tr -d '\n' | base64 -w0)
      direct=$(run "direct-$p" "${BASE[$p]}/wp-json/wc/v3/orders/$order" "Authorization: Basic $basic") ;;
    magento)
      token=$(echo "$creds" | field 'v["access_token"]')
      direct=$(run "direct-$p" "${BASE[$p]}/rest/default/V1/orders/$order" "Authorization: Bearer $token") ;;
    shopify)
      token=$(echo "$creds" | field 'v["access_token"]')
      body=$("$TARGET/release/examples/order_request" "$order")
      python3 - "$body" > "$WORK/shopify.lua" <<'PY'
import json, sys
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print("wrk.body = " + json.dumps(sys.argv[1]))
PY
      direct=$(run "direct-$p" "${BASE[$p]}/admin/api/2026-10/graphql.json" "X-Shopify-Access-Token: $token" "$WORK/shopify.lua") ;;
  esac
  gateway=$(run "gateway-$p" "$GW_embedded/v1/stores/${!store_var}/orders/$order" "Authorization: Bearer $KEY_embedded")
  echo "$p $direct $gateway" >> "$RESULTS"
  if [ "$p" = woocommerce ]; then
    redis_store="STORE_redis_$p"
    redis=$(run "redis-$p" "$GW_redis/v1/stores/${!redis_store}/orders/$order" "Authorization: Bearer $KEY_redis")
    echo "$redis" > "$WORK/redis-result.txt"
  fi
done

python3 - "$RESULTS" "$WORK/redis-result.txt" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
r_rps, r50, r99 = map(float, open(sys.argv[2]).read().split())
print("GET one order, wrk")
print(f"{'':40}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
ref = None
for p, *nums in rows:
    d_rps, d50, d99, g_rps, g50, g99 = map(float, nums)
    print(f"{p + ', sandbox direct':40}{d_rps:>10.0f}{d50:>10.2f}{d99:>10.2f}")
    print(f"{p + ', through cartgate':40}{g_rps:>10.0f}{g50:>10.2f}{g99:>10.2f}")
    if p == "woocommerce":
        ref = (g_rps, g99)
        print(f"{p + ', through cartgate on Redis':40}{r_rps:>10.0f}{r50:>10.2f}{r99:>10.2f}")
for p, *nums in rows:
    d_rps, d50, d99, g_rps, g50, g99 = map(float, nums)
    print(f"{p}: gateway/direct throughput {g_rps/d_rps:.2f}x, p50 {g50/d50:.2f}x, p99 {g99/d99:.2f}x")
print(f"woocommerce: Redis/embedded throughput {r_rps/ref[0]:.2f}x, p99 {r99/ref[1]:.2f}x")
PY
