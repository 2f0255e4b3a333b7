#!/usr/bin/env bash
# A Python venv with pinned tools the tests run against, written by others than us: the
# OpenAPI client generator (tests/e2e/sdk.rs generates a Python SDK from openapi/openapi.json
# and drives a gateway with it) and the Standard Webhooks reference verifier (the webhook
# tests check every delivery's signature with it).
# Idempotent; prints the venv's path. Needs python3 with venv (installed with apt if absent).
set -euo pipefail
cd "$(dirname "$0")/.."

PINS=("openapi-python-client==0.29.1" "standardwebhooks==1.1.0")
VENV="$PWD/target/sdk-venv"

installed() {
  local pin
  for pin in "${PINS[@]}"; do
    [ "$("$VENV/bin/pip" show "${pin%%==*}" 2>/dev/null | sed -n 's/^Version: //p')" = "${pin#*==}" ] || return 1
  done
}
if [ -x "$VENV/bin/pip" ] && installed; then
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
"$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}" >&2
echo "$VENV"
