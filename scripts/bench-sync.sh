#!/usr/bin/env bash
# Sync benchmarks (issue 3): an org of 50,000 users, 2,000 groups, 500 apps and 400,000 app
# assignments, synced by the release binary into SQLite.
#   (b) --rate-limits none: records per second and peak memory of `steward sync`.
#   (a) default workforce limits with --rate-scale chosen so the rate bound is about 20 s, where
#       bound = max over buckets of requests / (warning threshold × the token's quota per minute);
#       reports elapsed ÷ bound (goal ≤ 1.15), 429s and the highest window share per bucket.
#
#   scripts/bench-sync.sh [STEWARD_BINARY]    (default target/release/steward; build it first)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
BIN="${1:-target/release/steward}"
[ -x "$BIN" ] || { echo "build first: cargo build --release -p steward" >&2; exit 2; }
USERS=${USERS:-50000}; NGROUPS=${NGROUPS:-2000}; APPS=${APPS:-500}; ASSIGN=${ASSIGN:-400000}
TARGET_BOUND_S=${TARGET_BOUND_S:-20}
WORK=$(mktemp -d -t sync-bench.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
py() { python3 -c "$@"; }

start_sim() { # extra args...
  # A fresh file: the previous simulator's line must never be read for this one's.
  rm -f "$WORK/sim.json"
  "$BIN" simulate okta --listen 127.0.0.1:0 --users "$USERS" --groups "$NGROUPS" --apps "$APPS" \
    --app-assignments "$ASSIGN" --seed 1 "$@" >"$WORK/sim.json" 2>"$WORK/sim.log" &
  PID=$!
  for _ in $(seq 1 1200); do [ -s "$WORK/sim.json" ] && return 0; kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
  cat "$WORK/sim.log" >&2; return 1
}
stop_sim() { kill -INT "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; PID=""; }
base() { py 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$WORK/sim.json"; }
token() { py 'import json,sys; print(json.load(open(sys.argv[1]))["tokens"]["SUPER_ADMIN"])' "$WORK/sim.json"; }

sync_once() { # name; writes $WORK/$name.{json,time}
  local name=$1 dir="$WORK/data-$1"
  mkdir -p "$dir"
  OKTA_TOKEN=$(token) "$BIN" --data-dir "$dir" integration add okta --name bench --domain "$(base)" \
    --allow-insecure-loopback --token-env OKTA_TOKEN --no-test >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  # Debug lines of the orchestrator give the phases (staged, published, products updated).
  RUST_LOG=${RUST_LOG:-steward_products::sync=debug} /usr/bin/time -v -o "$WORK/$name.time" \
    "$BIN" --data-dir "$dir" sync bench --json >"$WORK/$name.json" 2>"$WORK/$name.err"
  t1=$(date +%s.%N)
  py 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1" >"$WORK/$name.elapsed"
  curl -s "$(base)/__sim/stats" >"$WORK/$name.stats"
}

echo "== machine load before: $(uptime)"
echo "== (b) no rate limits: $USERS users, $NGROUPS groups, $APPS apps, $ASSIGN app assignments"
start_sim --rate-limits none
sync_once nolimit
stop_sim
python3 - "$WORK/nolimit.json" "$WORK/nolimit.elapsed" "$WORK/nolimit.time" "$WORK/nolimit.err" <<'PY'
import json, re, sys
out = json.load(open(sys.argv[1])); elapsed = float(open(sys.argv[2]).read())
time_v = open(sys.argv[3]).read()
def field(name):
    return float(re.search(re.escape(name) + r"[^:]*:\s*([0-9.]+)", time_v).group(1))
rss, user, sys_ = field("Maximum resident"), field("User time"), field("System time")
secs = out["duration_ms"] / 1000
print(f"records: {out['records']}, sync run: {secs:.2f} s, process: {elapsed:.2f} s")
print(f"records/s: {out['records'] / secs:,.0f} (goal >= 100,000)")
print(f"peak RSS of steward sync: {rss / 1024:.0f} MB (goal < 300 MB)")
print(f"CPU of steward sync: {user + sys_:.1f} s (user {user:.1f} s, system {sys_:.1f} s)")
# Bytes the sync dirtied in files (WAL, database): steadier than time on a noisy machine.
print(f"disk writes of steward sync: {field('File system outputs') * 512 / 1e9:.2f} GB")
# Phases from the orchestrator's debug lines (ANSI colours stripped).
err = re.sub(r"\x1b\[[0-9;]*m", "", open(sys.argv[4]).read())
phases = {m.group(1): int(m.group(2)) / 1000 for m in re.finditer(r"(Records staged|Run published[^.]*|Inventory updated)\. elapsed_ms=(\d+)", err)}
staged = phases.get("Records staged")
if staged:
    print(f"phases: staged at {staged:.2f} s ({out['records'] / staged:,.0f} records/s), "
          + ", ".join(f"{k.split(';')[0].lower()} at {v:.2f} s" for k, v in phases.items() if k != "Records staged")
          + f", products updated at {secs:.2f} s")
print(f"requests: {out['report']['requests']}")
PY

echo "== (a) default workforce limits, scaled so the rate bound is ~${TARGET_BOUND_S} s"
# Quotas at scale 1 come from the simulator itself (X-Rate-Limit-Limit per bucket, seen in
# /__sim/stats after one sync at a huge scale); requests per bucket from the same run.
start_sim --rate-limits default --rate-scale 1000
sync_once probe
stop_sim
SCALE=$(python3 - "$WORK/probe.stats" "$WORK/probe.json" "$TARGET_BOUND_S" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))["buckets"]; out = json.load(open(sys.argv[2])); target = float(sys.argv[3])
thr = (out["report"].get("warning_threshold") or 90) / 100
# bound in seconds at scale 1: requests / (thr * the token's quota per minute at scale 1)
worst = max(b["requests"] / (thr * (b["limit"] / 1000.0)) * 60 for b in stats.values() if b["requests"])
print(f"{worst / target:.3f}")
PY
)
echo "rate scale: $SCALE"
start_sim --rate-limits default --rate-scale "$SCALE"
sync_once paced
stop_sim
python3 - "$WORK/paced.stats" "$WORK/paced.json" "$SCALE" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1])); out = json.load(open(sys.argv[2])); elapsed = out["duration_ms"] / 1000
thr = (out["report"].get("warning_threshold") or 90) / 100
rows, bound = [], 0
for name, b in sorted(stats["buckets"].items()):
    if not b["requests"]:
        continue
    t = b["requests"] / (thr * b["limit"]) * 60
    bound = max(bound, t)
    rows.append(f"  {name:<36} requests {b['requests']:>6}  limit {b['limit']:>6}/min  bound {t:6.1f}s  "
                f"429s {b['rate_limited']}  max window share {b['max_window_share']:.3f}  warnings {b['warnings']}")
print("\n".join(rows))
print(f"warning threshold: {thr * 100:.0f} %, rate scale {sys.argv[3]}")
print(f"rate bound: {bound:.1f} s, sync run: {elapsed:.1f} s, elapsed/bound: {elapsed / bound:.3f} (goal <= 1.15)")
print(f"429s: {out['report']['rate_limited']}, warnings: {sum(b['warnings'] for b in stats['buckets'].values())}")
PY
echo "== machine load after: $(uptime)"
