#!/usr/bin/env bash
# Installs the system packages the test suite runs against — Debian's redis-server and
# postgresql, and chromium for the dashboard's browser tests — when they are missing (apt-get,
# with sudo unless root); does nothing when all are there. Used by `.ci/run` and before `npm test` (its `pretest` script), so that the
# suite works on a fresh Debian machine; the test setup itself installs nothing.
set -euo pipefail

# True when the Postgres server binaries (initdb and postgres) can be found the way the test
# harness looks for them: pg_config --bindir, /usr/lib/postgresql/*/bin, then PATH.
have_postgres() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/postgres" ]]; then return 0; fi
  fi
  for dir in /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/initdb" && -x "$dir/postgres" ]]; then return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1
}

have_redis() {
  command -v redis-server >/dev/null 2>&1 || [[ -x /usr/bin/redis-server || -x /usr/sbin/redis-server ]]
}

# The dashboard tests drive this browser through playwright-core (no browser download);
# CHROMIUM_PATH names another one.
have_chromium() {
  [[ -n "${CHROMIUM_PATH:-}" && -x "${CHROMIUM_PATH}" ]] || command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]]
}

missing=()
have_redis || missing+=(redis-server)
have_postgres || missing+=(postgresql)
have_chromium || missing+=(chromium)
if ((${#missing[@]} == 0)); then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-packages: missing ${missing[*]}, and this is not a Debian-like system: install them, or set TEST_REDIS_URL / TEST_DATABASE_URL / CHROMIUM_PATH" >&2
  exit 1
fi
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then sudo=(sudo); fi
echo "installing: ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
