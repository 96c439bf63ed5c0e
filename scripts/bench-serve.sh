#!/usr/bin/env bash
# Serve benchmark (issue 5): p50/p99 latency of the users search and the inventory page on a
# 100,000-user store, measured with wrk from a second process on loopback (goal p99 < 50 ms).
#
#   scripts/bench-serve.sh [STEWARD_BINARY]    (default target/release/steward; build it first)
#
# Seeds the store with the release binary (simulator in its own process, `--rate-limits none`,
# `integration add`, `sync`), stops the simulator, starts `steward serve --no-worker`, logs in
# with curl, then runs wrk once per endpoint. The search terms come from the synced data: a
# surname, part of an email, a whole login, and a term that matches nobody.
# Knobs: USERS (100000), SEED (1), DURATION (15s), CONNS (4), THREADS (1), DATABASE_URL
# (unset: SQLite in a temporary directory; a postgres:// URL benchmarks PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/release/steward}"
[ -x "$BIN" ] || { echo "build first: cargo build --release -p steward" >&2; exit 2; }
if ! command -v wrk >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
USERS=${USERS:-100000}; SEED=${SEED:-1}; DURATION=${DURATION:-15s}; CONNS=${CONNS:-4}; THREADS=${THREADS:-1}
WORK=$(mktemp -d -t serve-bench.XXXXXX)
SIM=""; SRV=""
cleanup() {
  [ -n "$SIM" ] && kill -INT "$SIM" 2>/dev/null
  [ -n "$SRV" ] && kill -INT "$SRV" 2>/dev/null
  wait 2>/dev/null; rm -rf "$WORK"
}
trap cleanup EXIT
py() { python3 -c "$@"; }
ST=("$BIN" --data-dir "$WORK/data")
[ -n "${DATABASE_URL:-}" ] && ST+=(--database-url "$DATABASE_URL")

echo "== seeding: $USERS users (seed $SEED), synced with --rate-limits none"
"$BIN" simulate okta --listen 127.0.0.1:0 --users "$USERS" --seed "$SEED" --rate-limits none \
  >"$WORK/sim.json" 2>"$WORK/sim.log" &
SIM=$!
for _ in $(seq 1 2400); do [ -s "$WORK/sim.json" ] && break; kill -0 "$SIM" 2>/dev/null || break; sleep 0.05; done
[ -s "$WORK/sim.json" ] || { cat "$WORK/sim.log" >&2; exit 1; }
BASE=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$WORK/sim.json")
OKTA_TOKEN=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["tokens"]["SUPER_ADMIN"])' "$WORK/sim.json") \
  "${ST[@]}" integration add okta --name bench --domain "$BASE" --allow-insecure-loopback \
  --token-env OKTA_TOKEN --no-test >/dev/null
"${ST[@]}" sync bench --json >"$WORK/sync.json"
py 'import json,sys; o=json.load(open(sys.argv[1])); print("synced {:,} records in {:.1f} s".format(o["records"], o["duration_ms"] / 1000))' "$WORK/sync.json"
kill -INT "$SIM"; wait "$SIM" 2>/dev/null || true; SIM=""

PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
BENCH_PASSWORD="$PASSWORD" "${ST[@]}" user add bench --role viewer --password-env BENCH_PASSWORD >/dev/null
PORT=$(py 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
"${ST[@]}" serve --listen "127.0.0.1:$PORT" --no-worker >"$WORK/serve.out" 2>"$WORK/serve.log" &
SRV=$!
for _ in $(seq 1 600); do curl -s -o /dev/null "$URL/api/openapi.json" && break; sleep 0.05; done
curl -sf -c "$WORK/jar" -H 'content-type: application/json' \
  -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" "$URL/api/v1/auth/login" >/dev/null \
  || { echo "login failed" >&2; cat "$WORK/serve.log" >&2; exit 1; }
# The session cookie from curl's jar (HttpOnly lines are prefixed "#HttpOnly_").
COOKIE=$(py '
import sys
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) == 7 and (not line.startswith("#") or line.startswith("#HttpOnly_")):
        print(f"{f[5]}={f[6]}"); break' "$WORK/jar")
[ -n "$COOKIE" ] || { echo "no session cookie" >&2; exit 1; }

# Realistic terms from the data itself (a user a third of the way in).
curl -sf -H "Cookie: $COOKIE" "$URL/api/v1/identity/users?page=$((USERS / 150))" >"$WORK/page.json"
mapfile -t TERMS < <(py '
import json, sys, urllib.parse
items = json.load(open(sys.argv[1]))["items"]
a, b, c = items[0], items[1], items[2]
email = (b.get("email") or b["login"]).split("@")[0]
terms = [a.get("last_name") or a["login"][:5], email[1:7], c["login"], "zzqx-nobody"]
for t in terms:
    print(urllib.parse.quote(t, safe=""))' "$WORK/page.json")
echo "search terms: ${TERMS[*]}"

cat >"$WORK/rotate.lua" <<'LUA'
-- Rotate through the paths given as arguments, one per request.
local paths = {}
local i = 0
function init(args) for _, p in ipairs(args) do paths[#paths + 1] = p end end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA

SUMMARY="$WORK/summary"
: >"$SUMMARY"
bench() { # label path...
  local label=$1; shift
  # A wrong cookie or path would make a fast benchmark of errors: check each path first.
  for p in "$@"; do
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$URL$p")
    [ "$code" = 200 ] || { echo "GET $p -> $code" >&2; exit 1; }
  done
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Cookie: $COOKIE" -s "$WORK/rotate.lua" "$URL" -- "$@" \
    >"$WORK/wrk.out"
  if grep -q "Non-2xx" "$WORK/wrk.out"; then cat "$WORK/wrk.out" >&2; echo "$label: error responses" >&2; exit 1; fi
  python3 - "$WORK/wrk.out" "$label" >>"$SUMMARY" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
def pct(p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p99 = pct(99)
print(f"{sys.argv[2]:<44} p50 {pct(50):7.2f} ms   p99 {p99:7.2f} ms   {rps:8.0f} req/s   {'ok' if p99 < 50 else 'OVER GOAL'}")
PY
  tail -n1 "$SUMMARY"
}

echo "== wrk -t$THREADS -c$CONNS -d$DURATION --latency (goal p99 < 50 ms); $(uptime)"
SEARCH=()
for t in "${TERMS[@]}"; do SEARCH+=("/api/v1/identity/users?q=$t"); done
bench "GET /api/v1/identity/users?q= (4 terms)" "${SEARCH[@]}"
for t in "${TERMS[@]}"; do bench "  q=$t" "/api/v1/identity/users?q=$t"; done
bench "GET /api/v1/identity/users?page=1000" "/api/v1/identity/users?page=$((USERS / 100))"
bench "GET /api/v1/inventory?page=1" "/api/v1/inventory?page=1"
# The UI pages, when this build has them.
for p in "/inventory" "/identity/users?q=${TERMS[0]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$URL$p")
  if [ "$code" = 200 ]; then bench "GET $p (UI)" "$p"; else echo "GET $p (UI): $code, skipped"; fi
done
echo "== summary ($USERS users, $("${ST[@]}" --version 2>/dev/null || echo steward), $(nproc) cores; $(uptime | sed 's/.*load/load/'))"
cat "$SUMMARY"
