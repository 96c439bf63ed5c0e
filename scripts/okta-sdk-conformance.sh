#!/usr/bin/env bash
# The official Okta Python SDK (PyPI `okta`, pinned in ../shared/okta/conformance/requirements.txt)
# lists every resource of a running `steward simulate okta` through all pages; every count must
# equal the simulator's /__sim/truth and the SDK must raise no validation error.
#
# Usage: scripts/okta-sdk-conformance.sh [STEWARD_BINARY]   (default target/debug/steward)
# Needs python3 with venv and PyPI access on first run: the pinned SDK is installed into
# $OKTA_SDK_VENV (default target/okta-sdk-venv), once.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/debug/steward}"
CONF_DIR="../shared/okta/conformance"
PROBE="$CONF_DIR/okta-sdk-probe.py"
[ -f "$PROBE" ] || { echo "okta-sdk-conformance: $PROBE missing (../shared beside the repo)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "okta-sdk-conformance: $BIN not built (cargo build -p steward)" >&2; exit 2; }
SIM=("$BIN" simulate okta)

# 0. The pinned official SDK in a venv of its own (the probe would otherwise pick ~/.cache).
export OKTA_SDK_VENV="${OKTA_SDK_VENV:-$PWD/target/okta-sdk-venv}"
if [ ! -x "$OKTA_SDK_VENV/bin/python" ] || ! "$OKTA_SDK_VENV/bin/python" -c 'import okta' 2>/dev/null; then
  echo "okta-sdk-conformance: installing the pinned Okta SDK into $OKTA_SDK_VENV" >&2
  python3 -m venv "$OKTA_SDK_VENV"
  "$OKTA_SDK_VENV/bin/python" -m pip install -q -r "$CONF_DIR/requirements.txt"
fi

WORK=$(mktemp -d -t okta-sdk.XXXXXX)
SIM_PID=""
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# 1. A simulator with a few pages of everything, rate limits off (the SDK's own retry logic
#    is not what is under test here).
"${SIM[@]}" --listen 127.0.0.1:0 --users 450 --seed 7 --rate-limits none >"$WORK/sim.json" 2>"$WORK/sim.log" &
SIM_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/sim.json" ] && break; kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
[ -s "$WORK/sim.json" ] || { cat "$WORK/sim.log" >&2; echo "okta-sdk-conformance: simulator did not start" >&2; exit 1; }

# 2. Expected counts: /__sim/truth, plus the splits the SDK's listings imply (plain /users
#    leaves out DEPROVISIONED; the probe lists two policy types), read over plain HTTP.
python3 - "$WORK/sim.json" >"$WORK/expect.args" <<'PY'
import json, sys, urllib.request
sim = json.load(open(sys.argv[1]))
base, token = sim["base_url"], sim["tokens"]["SUPER_ADMIN"]
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "SSWS " + token, "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read()), r.headers.get_all("Link") or []
def count_all(path):
    n, url = 0, path
    while url:
        body, links = get(url)
        n += len(body)
        url = None
        for l in links:
            for part in l.split(","):
                if 'rel="next"' in part:
                    url = part.split(";")[0].strip()[1:-1].replace(base, "")
    return n
truth = json.loads(urllib.request.urlopen(base + "/__sim/truth", timeout=30).read())["resources"]
deprov = count_all('/api/v1/users?limit=200&filter=status%20eq%20%22DEPROVISIONED%22')
args = [
    f"users={truth['users']['count'] - deprov}",
    f"groups={truth['groups']['count']}",
    f"group_members={truth['memberships']['count']}",
    f"apps={truth['apps']['count']}",
    f"app_users={truth['app_users']['count']}",
    f"logs={truth['log_events']['count']}",
]
for t in ("MFA_ENROLL", "OKTA_SIGN_ON"):
    args.append(f"policies_{t}={count_all('/api/v1/policies?type=' + t)}")
print(" ".join("--expect " + a for a in args))
PY

BASE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$WORK/sim.json")
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokens"]["READ_ONLY_ADMIN"])' "$WORK/sim.json")
SINCE=$(python3 -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc)-datetime.timedelta(days=95)).strftime("%Y-%m-%dT%H:%M:%S.000Z"))')
echo "okta-sdk-conformance: expecting $(cat "$WORK/expect.args")"
# shellcheck disable=SC2046
"$OKTA_SDK_VENV/bin/python" "$PROBE" "$BASE" "$TOKEN" --log-since "$SINCE" $(cat "$WORK/expect.args") | tee "$WORK/probe.json"
# 3. Again with small pages, so every listing (group members, app users, apps, groups, logs)
#    follows several `next` cursors through the SDK, not only users.
echo "okta-sdk-conformance: again with small pages"
# shellcheck disable=SC2046
"$OKTA_SDK_VENV/bin/python" "$PROBE" "$BASE" "$TOKEN" --log-since "$SINCE" --page-size 7 --member-page-size 13 \
  --app-user-page-size 17 --log-page-size 250 $(cat "$WORK/expect.args") | tee "$WORK/probe-small.json"
echo "okta-sdk-conformance: the official SDK listed every resource; counts equal the simulator's truth"
