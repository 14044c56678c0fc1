#!/usr/bin/env bash
# Debian packages the tests drive: Neovim (a real LSP client) and Emacs (to evaluate the README's
# eglot snippets). Idempotent; needs root or sudo.
set -euo pipefail
need=()
command -v nvim >/dev/null || need+=(neovim)
command -v emacs >/dev/null || need+=(emacs-nox)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get -o DPkg::Lock::Timeout=120 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=120 install -y -qq "${need[@]}" >/dev/null
fi
