#!/usr/bin/env bash
# Debian packages only the tests need: Neovim (a real LSP client), Emacs (to evaluate the eglot
# snippets of docs/editors.md) and Chromium (drives code-server headless). `make run` needs none
# of them. Idempotent; needs root or sudo when something is missing.
set -euo pipefail
need=()
command -v nvim >/dev/null || need+=(neovim)
command -v emacs >/dev/null || need+=(emacs-nox)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "[install-system-deps] apt-get install ${need[*]}" >&2
  $SUDO apt-get -o DPkg::Lock::Timeout=120 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=120 install -y -qq "${need[@]}" >/dev/null
fi
