#!/usr/bin/env bash
# scim2-tester (PyPI, pinned by ../shared/onetrust/scim/scim-tester.sh) against the SCIM v3 and
# v2 APIs of a running `steward simulate onetrust`, with the full-scope API key. Passes when
# every failed check is in the allow-list below: features OneTrust itself lacks (each with its
# reason; the README's "The OneTrust simulator" section lists the same). Anything else fails.
#
# Usage: scripts/onetrust-scim-conformance.sh [STEWARD_BINARY]   (default target/debug/steward)
# Needs python3 with venv and PyPI access on first run (scim-tester.sh installs its venv once,
# in $SCIM_VENV, default ~/.cache/steward-scim-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/debug/steward}"
SCIM_DIR="${SCIM_DIR:-../shared/onetrust/scim}"
TESTER="$SCIM_DIR/scim-tester.sh"
[ -f "$TESTER" ] || { echo "onetrust-scim-conformance: $TESTER missing (../shared beside the repo)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "onetrust-scim-conformance: $BIN not built (cargo build -p steward)" >&2; exit 2; }

WORK=$(mktemp -d -t ot-scim.XXXXXX)
SIM_PID=""
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# 1. A small tenant, rate limits off (scim2-tester has no 429 handling; limits have their own tests).
"$BIN" simulate onetrust --listen 127.0.0.1:0 --users 100 --seed 1 --now 2026-11-01T00:00:00Z \
  --rate-limits none >"$WORK/sim.json" 2>"$WORK/sim.log" &
SIM_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/sim.json" ] && break; kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
[ -s "$WORK/sim.json" ] || { cat "$WORK/sim.log" >&2; echo "onetrust-scim-conformance: simulator did not start" >&2; exit 1; }

# 2. Discovery lives under v3 only. The tester gets the simulator's own documents up front (so
#    one non-RFC field in the SPC, see the allow-list, does not stop every CRUD check), and the
#    v2 run uses v3's documents (OneTrust serves none under v2).
python3 - "$WORK" <<'PY'
import json, sys, urllib.request
work = sys.argv[1]
sim = json.load(open(f"{work}/sim.json"))
key = sim["keys"]["full"]
for doc in ("ServiceProviderConfig", "Schemas", "ResourceTypes"):
    req = urllib.request.Request(f'{sim["scim_v3_base_url"]}/{doc}', headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = json.loads(r.read())
    if doc == "ServiceProviderConfig":
        body.pop("xmlDataFormat", None)  # SCIM 1.1 field OneTrust's spec declares; scim2-models refuses it
    json.dump(body, open(f"{work}/{doc}.json", "w"))
for k in ("scim_v3_base_url", "scim_v2_base_url"):
    open(f"{work}/{k}", "w").write(sim[k])
open(f"{work}/key", "w").write(key)
PY

KEY=$(cat "$WORK/key")
for v in v3 v2; do
  echo "== scim2-tester against SCIM $v"
  rc=0
  SCIM_TOKEN="$KEY" bash "$TESTER" "$(cat "$WORK/scim_${v}_base_url")" \
    --spc-file "$WORK/ServiceProviderConfig.json" --schemas-file "$WORK/Schemas.json" \
    --resource-types-file "$WORK/ResourceTypes.json" --json "$WORK/$v.json" >"$WORK/$v.log" 2>&1 || rc=$?
  tail -n 3 "$WORK/$v.log"
  if [ "$rc" -ge 2 ] || [ ! -s "$WORK/$v.json" ]; then
    cat "$WORK/$v.log" >&2
    echo "onetrust-scim-conformance: scim2-tester could not run against $v (rc $rc)" >&2
    exit 1
  fi
done

# 3. Every failure must be allowed: (versions, check title, resource type or None, reason regex, why).
python3 - "$WORK" <<'PY'
import json, re, sys
work = sys.argv[1]
ALLOW = [
    (("v3",), "service_provider_config_endpoint", None, r"xmlDataFormat",
     "OneTrust's ServiceProviderConfig carries xmlDataFormat (a SCIM 1.1 field in its OpenAPI schema), which RFC 7643 models refuse"),
    (("v2",), r"(service_provider_config|resource_types|schemas)_endpoint(_methods)?|query_all_(resource_types|schemas)", None, r"",
     "OneTrust serves /ServiceProviderConfig, /Schemas and /ResourceTypes under /api/scim/v3 only"),
    (("v2", "v3"), r"object_query_without_id|object_list_with_attributes", "User", r"could not find|Could not find",
     "OneTrust caps count at 25 per page; the tester looks for its new user on the first page only"),
    (("v2", "v3"), "search_with_attributes", "User", r"\.search",
     "OneTrust has no POST /.search"),
    (("v2", "v3"), "object_deletion", "User", r"not available|not supported",
     "OneTrust cannot delete users over SCIM (v2: 'The Delete User feature is not available at this time', v3: no DELETE); deprovision is PATCH active=false"),
    (("v2", "v3"), "check_remove_attribute", "User", r"userType|active",
     "every OneTrust user is Internal or External and active or not: userType and active cannot be removed"),
    (("v3",), r"object_query_with_attributes|object_list_with_attributes|search_with_attributes|object_replacement|check_(add|remove|replace)_attribute", "Group",
     r"is not a user",
     "OneTrust user-group members must be OneTrust users; the tester fills members with random ids"),
    (("v2",), r".*", "Group", r"POST is not supported",
     "legacy (v2) SCIM groups are organization x role combinations: they cannot be created or deleted"),
]
bad = 0
for v in ("v3", "v2"):
    results = json.load(open(f"{work}/{v}.json"))
    passed = sum(r["status"] in ("SUCCESS", "COMPLIANT", "ACCEPTABLE") for r in results)
    failed = [r for r in results if r["status"] in ("ERROR", "CRITICAL")]
    allowed = 0
    for r in failed:
        why = next((w for vs, t, rt, rx, w in ALLOW
                    if v in vs and re.fullmatch(t, r["title"]) and (rt is None or rt == r["resource_type"])
                    and re.search(rx, r["reason"] or "")), None)
        if why:
            allowed += 1
        else:
            bad += 1
            print(f"NOT ALLOWED [{v}] {r['title']} [{r['resource_type']}] — {(r['reason'] or '')[:300]}")
    print(f"[{v}] {passed} passed, {len(failed)} failed, {allowed} of them allowed (features OneTrust lacks)")
    if passed == 0:
        bad += 1
        print(f"[{v}] no check passed")
sys.exit(1 if bad else 0)
PY
echo "onetrust-scim-conformance: OK"
