#!/usr/bin/env bash
# The API docs page works with no network beyond loopback (issue 15): start the service as a
# process, open /docs in headless Chromium (Debian's package) whose every non-loopback request
# goes to a dead proxy, and find the operations listed in the rendered page. Also checks the
# page's Content-Security-Policy and that its HTML names no other origin.
#
# Usage: .ci/docs-browser-check.sh [python]   (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
fi
chromium --version

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export DATABASE_URL="sqlite:///$work/docs.db" AUTH_JWT_SECRET="docs-check-secret-0123456789abcdef0123"
"$PY" -m app.cli migrate >/dev/null
"$PY" -m app.cli serve --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
  curl -fs -o /dev/null "$base/health/live" && break
  sleep 0.5
done
curl -fs -o /dev/null "$base/health/live" || { cat "$work/server.log"; echo "the server did not start"; exit 1; }

fail() { echo "docs check: $*"; exit 1; }

# The page and its start-up script: a policy allowing this origin only, and no other origin named.
curl -fs -D "$work/headers.txt" -o "$work/page.html" "$base/docs"
grep -qi "^content-security-policy: default-src 'none'; script-src 'self';" "$work/headers.txt" \
  || fail "/docs has no same-origin Content-Security-Policy: $(grep -i content-security "$work/headers.txt" || true)"
curl -fs -o "$work/init.js" "$base/docs/swagger-init.js"
if grep -Eo 'https?://[^"'"'"' )]+' "$work/page.html" "$work/init.js"; then
  fail "/docs names another origin (above)"
fi

# The rendered page, with everything but loopback sent to a closed port.
chromium --headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions \
  --disable-background-networking --disable-component-update --disable-sync \
  --proxy-server=127.0.0.1:9 --proxy-bypass-list='127.0.0.1;localhost' \
  --user-data-dir="$work/profile" --virtual-time-budget=10000 \
  --dump-dom "$base/docs" >"$work/dom.html" 2>"$work/chromium.log" || true

operations=$("$PY" -c 'import json, sys; spec = json.load(open(sys.argv[1])); print(sum(len(v) for v in spec["paths"].values()))' openapi/openapi.json)
# Unique ids: an operation with two tags is listed under each.
listed=$(grep -o 'class="opblock-summary-operation-id">[^<]*' "$work/dom.html" | sort -u | wc -l)
grep -q '>dissents-list_dissents<' "$work/dom.html" || {
  tail -n 20 "$work/chromium.log"
  fail "the rendered /docs does not list dissents-list_dissents (Swagger UI did not render)"
}
grep -q 'Unable to render this definition' "$work/dom.html" && fail "Swagger UI could not render the definition"
[ "$listed" -eq "$operations" ] || fail "/docs lists $listed operations, openapi/openapi.json has $operations"
echo "docs check: /docs rendered offline in headless Chromium, listing all $listed operations"
