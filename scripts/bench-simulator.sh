#!/usr/bin/env bash
# Simulator benchmarks (issue: "requests per second serving 200-user pages with --rate-limits
# none, and generation time and peak memory for 100,000 users").
#
#   scripts/bench-simulator.sh [STEWARD_BINARY]     (default target/release/steward)
#
# Uses wrk (Debian package, installed if missing) as the load generator from a second process
# on loopback. Release build first: cargo build --release -p steward
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
BIN="${1:-target/release/steward}"
[ -x "$BIN" ] || { echo "build first: cargo build --release -p steward" >&2; exit 2; }
if ! command -v wrk >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
WORK=$(mktemp -d -t sim-bench.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

start() { # args...; waits for the JSON line
  # A fresh file: the previous simulator's line must never be read for this one's.
  rm -f "$WORK/sim.json"
  "$@" >"$WORK/sim.json" 2>"$WORK/sim.log" &
  PID=$!
  for _ in $(seq 1 1200); do [ -s "$WORK/sim.json" ] && return 0; kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
  cat "$WORK/sim.log" >&2; return 1
}
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/sim.json" "$1"; }

echo "== 1. Generation: 100,000 users, 1,000,000 app assignments (time to listening, peak RSS)"
t0=$(date +%s.%N)
start /usr/bin/time -v -o "$WORK/time.txt" "$BIN" simulate okta --users 100000 --app-assignments 1000000 --seed 1 --rate-limits none
t1=$(date +%s.%N)
echo "org: $(field 'd["org"]')"
python3 -c "import sys; print(f\"generation + bind: {float(sys.argv[2])-float(sys.argv[1]):.2f} s\")" "$t0" "$t1"
# GNU time ignores SIGINT while it waits: signal the simulator itself.
pkill -INT -P "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""
grep -E "Maximum resident set size" "$WORK/time.txt"

echo "== 2. Throughput: GET /api/v1/users?limit=200 (200-user pages), rate limits none, 1,000 users"
start "$BIN" simulate okta --users 1000 --seed 1 --rate-limits none
BASE=$(field 'd["base_url"]'); TOKEN=$(field 'd["tokens"]["READ_ONLY_ADMIN"]')
wrk -t2 -c32 -d15s -H "Authorization: SSWS $TOKEN" -H "Accept: application/json" "$BASE/api/v1/users?limit=200" | tee "$WORK/wrk.txt"
echo "requests/s: $(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt") (goal >= 5000)"
