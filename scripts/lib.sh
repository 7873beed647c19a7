# Shared helpers for scripts/dev and scripts/test. Sourced, not run.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
MOTO_VERSION=5.2.5

# Installs the pinned emulator (and the offline Terraform checkers) into the project venv, once.
ensure_venv() {
  local stamp="$VENV/.faas-ecs-$MOTO_VERSION-5"
  [ -f "$stamp" ] && return 0
  echo "installing moto $MOTO_VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "moto==$MOTO_VERSION" flask flask-cors dnslib "python-hcl2>=7,<9" "pytest>=8,<9" >&2
  touch "$stamp"
}

# Installs checkov (the Terraform static analyser) into a venv of its own: its pins clash with moto's.
CHECKOV_VENV="$ROOT/.venv-checkov"
CHECKOV_VERSION=3.3.30
ensure_checkov() {
  local stamp="$CHECKOV_VENV/.checkov-$CHECKOV_VERSION"
  [ -f "$stamp" ] && return 0
  echo "installing checkov $CHECKOV_VERSION into $CHECKOV_VENV" >&2
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" >&2
  touch "$stamp"
}

# The schema of the Terraform providers versions.tf allows, as pinned packages carry it
# (tests/terraform/schema_check.py reads them): cdktn-provider-aws 25.8.1 is terraform-provider-aws
# 6.69.1, cdktn-provider-random 15.0.1 is hashicorp/random 3.9.1. Downloaded once, hash-checked.
ensure_provider_schema() {
  local wheels="$VENV/wheels" requirements
  [ -f "$wheels/cdktn_provider_aws-25.8.1-py3-none-any.whl" ] &&
    [ -f "$wheels/cdktn_provider_random-15.0.1-py3-none-any.whl" ] && return 0
  echo "downloading the Terraform providers' schema packages into $wheels" >&2
  requirements=$(mktemp)
  cat > "$requirements" <<'REQUIREMENTS'
cdktn-provider-aws==25.8.1 --hash=sha256:2ffa579cb88b063cb3a9937e43c519391e876845768f51638a848bdf2ce9f354
cdktn-provider-random==15.0.1 --hash=sha256:b721666146e90086c08549e992576e6bb6e3c0e86699fe014b65b9dbe6275407
REQUIREMENTS
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --require-hashes \
    -r "$requirements" -d "$wheels" >&2
  rm -f "$requirements"
}

# Prints a free loopback TCP port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts moto on a free port; sets MOTO_PID and MOTO_URL. Logs go to $1.
start_moto() {
  local log=$1 port
  port=$(free_port)
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if curl -sf "$MOTO_URL/moto-api/" >/dev/null 2>&1; then return 0; fi
    kill -0 "$MOTO_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "moto did not start; see $log" >&2
  return 1
}

# Stops a background process and reaps it; never fails, so that an EXIT trap under `set -e` keeps
# the script's own exit status (a `wait` on a killed process returns 143).
stop_process() {
  [ -n "${1:-}" ] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
