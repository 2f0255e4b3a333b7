#!/usr/bin/env bash
# A Python venv with a pinned OpenAPI client generator, for the test that generates a
# Python SDK from openapi/openapi.json and drives a gateway with it (tests/e2e/sdk.rs).
# Idempotent; prints the venv's path. Needs python3 with venv (installed with apt if absent).
set -euo pipefail
cd "$(dirname "$0")/.."

GENERATOR="openapi-python-client==0.29.1"
VENV="$PWD/target/sdk-venv"

if [ -x "$VENV/bin/openapi-python-client" ] && "$VENV/bin/pip" show -q openapi-python-client 2>/dev/null \
  && [ "$("$VENV/bin/pip" show openapi-python-client | sed -n 's/^Version: //p')" = "${GENERATOR#*==}" ]; then
  echo "$VENV"
  exit 0
fi

if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
  echo "installing python3-venv for the generated-SDK test" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install -q --disable-pip-version-check "$GENERATOR" >&2
echo "$VENV"
