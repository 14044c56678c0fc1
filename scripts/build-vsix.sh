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
echo "[build-vsix] type-check and unit tests" >&2
npm run --silent typecheck >&2
npm run --silent test >/dev/null 2>"$EXT/out-test.log" || { cat "$EXT/out-test.log" >&2; exit 1; }
rm -f "$EXT/out-test.log"
echo "[build-vsix] bundle the server and package" >&2
VERSION="$(node -p 'require("./package.json").version')"
rm -f "kestrel-$VERSION.vsix"
npm run --silent package >&2
test -f "kestrel-$VERSION.vsix"
echo "$EXT/kestrel-$VERSION.vsix"
