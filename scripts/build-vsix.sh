#!/usr/bin/env bash
# Build client-extension/kestrel-<version>.vsix (type-check, unit tests, bundle the server, package).
# Prints the .vsix path as its only stdout line; progress goes to stderr.
# Reuses node_modules while package-lock.json is unchanged, and the .vsix itself while no source
# of the extension or the server is newer than it (KESTREL_FORCE_VSIX=1 rebuilds anyway).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
EXT="$ROOT/client-extension"
cd "$EXT"
VERSION="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json | head -1)"
VSIX="$EXT/kestrel-$VERSION.vsix"
if [ "${KESTREL_FORCE_VSIX:-0}" != 1 ] && [ -f "$VSIX" ] && [ -z "$(find src scripts package.json \
    package-lock.json requirements-bundled.txt esbuild.mjs tsconfig.json README.md LICENSE \
    "$ROOT/server/kestrel_lsp" "$ROOT/pyproject.toml" -type f -newer "$VSIX" \
    -not -path '*/__pycache__/*' -print -quit)" ]; then
  echo "[build-vsix] $(basename "$VSIX") is up to date" >&2
  echo "$VSIX"
  exit 0
fi
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
rm -f "kestrel-$VERSION.vsix"
quiet npm run --silent package
test -f "kestrel-$VERSION.vsix"
echo "$EXT/kestrel-$VERSION.vsix"
