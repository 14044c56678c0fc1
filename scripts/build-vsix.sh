#!/usr/bin/env bash
# Build client-extension/kestrel-<version>.vsix (type-check, unit tests, bundle the server, package).
# Prints the .vsix path as its only stdout line; progress goes to stderr.
# Reuses node_modules while package-lock.json is unchanged.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
EXT="$ROOT/client-extension"
cd "$EXT"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[build-vsix] npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
quiet() { "$@" >"$LOG" 2>&1 || { cat "$LOG" >&2; echo "[build-vsix] failed: $*" >&2; exit 1; }; }
echo "[build-vsix] type-check and unit tests" >&2
quiet npm run --silent typecheck
quiet npm run --silent test
echo "[build-vsix] bundle the server and package" >&2
VERSION="$(node -p 'require("./package.json").version')"
rm -f "kestrel-$VERSION.vsix"
quiet npm run --silent package
test -f "kestrel-$VERSION.vsix"
echo "$EXT/kestrel-$VERSION.vsix"
