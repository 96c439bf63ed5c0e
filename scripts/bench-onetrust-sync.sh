#!/usr/bin/env bash
# bench-onetrust-sync.sh [STEWARD_BINARY] [--users N] [--audit]
#
# Full sync of a seeded OneTrust tenant (the simulator at its default limits: 1,000 requests
# per minute per endpoint, 200,000 per hour) into a fresh SQLite store, timed, next to the
# tenant's rate bound: for every endpoint family the run used, (ceil(requests / 1000) - 1)
# full minutes must pass before its last request (the simulator's windows are fixed and
# start at the first request), and the largest of these is the bound. With --audit the run
# also reads per-user audit activities (one request per user), which makes the bound real.
# Prints one JSON line: users, requests per bucket, seconds, bound seconds, ratio.
set -euo pipefail
BIN=target/debug/steward
USERS=21800   # Okta people; about 20,000 OneTrust accounts after drift
AUDIT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --users) USERS="$2"; shift 2 ;;
    --audit) AUDIT="--audit-activities"; shift ;;
    *) BIN="$1"; shift ;;
  esac
done
WORK=$(mktemp -d -t otbench.XXXXXX)
"$BIN" simulate onetrust --users "$USERS" --seed 1 >"$WORK/sim.json" 2>"$WORK/sim.err" &
SIM=$!
cleanup() { kill "$SIM" 2>/dev/null || true; wait "$SIM" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 600); do [ -s "$WORK/sim.json" ] && break; sleep 0.2; done
BASE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$WORK/sim.json")
KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"]["full"])' "$WORK/sim.json")
ACCOUNTS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["org"]["users"])' "$WORK/sim.json")
export STEWARD_DATA_DIR="$WORK/data" OT_KEY="$KEY"
"$BIN" integration add onetrust --name ot --domain "$BASE" --allow-insecure-loopback --token-env OT_KEY --no-test $AUDIT >/dev/null
START=$(date +%s.%N)
"$BIN" sync ot >"$WORK/sync.log" 2>&1 || { cat "$WORK/sync.log"; exit 1; }
END=$(date +%s.%N)
"$BIN" integration show ot --json >"$WORK/show.json"
python3 - "$WORK/show.json" "$START" "$END" "$ACCOUNTS" <<'PY'
import json, math, sys
show = json.load(open(sys.argv[1]))
secs = float(sys.argv[3]) - float(sys.argv[2])
report = show["runs"][0]["report"] or {}
buckets = {k: v["requests"] for k, v in (report.get("buckets") or {}).items()}
bound = max([(math.ceil(n / 1000) - 1) * 60 for n in buckets.values()] + [0])
print(json.dumps({
    "onetrust_accounts": int(sys.argv[4]),
    "requests": report.get("requests"), "rate_limited": report.get("rate_limited"),
    "max_bucket": max(buckets.items(), key=lambda kv: kv[1]) if buckets else None,
    "seconds": round(secs, 1), "bound_seconds": bound,
    "ratio": round(secs / bound, 3) if bound else None,
}))
PY
