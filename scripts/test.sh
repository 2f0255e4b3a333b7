#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the spec drift check and every
# test (unit, mapping snapshots, sandbox-vs-spec, end-to-end over loopback sockets).
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
if ! need cargo; then
  echo "cargo is required (https://rustup.rs)" >&2
  exit 1
fi

# The distributed-mode tests start throwaway Redis servers on free loopback ports.
if ! need redis-server; then
  echo "installing redis-server for the distributed-mode tests" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi

# The generated-SDK test (tests/e2e/sdk.rs) uses a pinned generator in a venv.
CARTGATE_SDK_VENV="$(scripts/sdk-venv.sh)"
export CARTGATE_SDK_VENV

# A one-shot run gains nothing from incremental caches, which would double the target dir.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
