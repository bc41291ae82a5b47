#!/usr/bin/env bash
# The whole test suite, runnable on a fresh machine: installs what the tests need (Debian
# packages redis-server, nginx and chromium; the Node test client via npm ci), builds the
# server, then runs the Rust tests and the end-to-end tests against real processes.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
# redis-cli (redis-tools) joins the Redis Cluster of the cluster tests (--cluster create).
command -v redis-cli >/dev/null || need_pkgs+=(redis-tools)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_pkgs+=(nginx)
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi
# nginx and redis packages start system services on install; the tests start their own.

(cd tests/e2e && npm ci --no-audit --no-fund)
cargo build --workspace --bins
cargo test --workspace
(cd tests/e2e && npm test)
