#!/usr/bin/env bash
# Installs the real servers the integration and browser tests drive, when they are missing:
# redis-server, PostgreSQL (initdb/pg_ctl under /usr/lib/postgresql/*/bin), Chromium and nginx
# (the proxy test runs deploy/nginx's config in front of gunicorn).
# Idempotent and quiet: with everything present it prints nothing and changes nothing.
# It only installs packages; the tests start their own servers on loopback, in temporary
# folders, and stop them. Needs root (or sudo) and Debian's apt; without them the tests
# that need a server skip with a clear reason, except under CI=true, where they fail.
set -euo pipefail
needed=()
command -v redis-server >/dev/null 2>&1 || needed+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || needed+=(postgresql)
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || needed+=(nginx)
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
  echo "note: cannot install ${needed[*]} (not root); tests needing them will skip" >&2; exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "note: no apt-get; install ${needed[*]} yourself; tests needing them will skip" >&2
  exit 0
fi
echo "installing ${needed[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
