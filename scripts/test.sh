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

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
