#!/usr/bin/env bash
# bench/compute/run.sh — the compute service with the fake driver: boot rate and POST-to-ACTIVE
# latency, `server list --long` with many servers, and allocation-candidate latency.
#
# Starts a throw-away cloud (bench/lib.sh) with [compute] driver = fake and BENCH_HOSTS simulated
# hosts, lifts the admin project's compute quotas (-1), uploads a 1 MiB qcow2 image, then:
#   boots      bench/compute/boot.py: BENCH_BOOTS servers of flavor m1.nano at concurrency
#              BENCH_CONCURRENCY, each timed from its POST to the first GET that shows ACTIVE
#              (GET every 10 ms) -> boots/s, p50, p99
#   fill       multi-create (min_count = max_count = 500 per POST) up to BENCH_LIST_SERVERS
#              servers, waiting until none is BUILD
#   list       `openstack server list --long --limit -1` wall time (every page; CLI start-up
#              included), and the API alone: GET /servers/detail following every next link (pages
#              of 1,000, Nova's max_limit), BENCH_REPEAT times (median)
#   candidates wrk (2 threads, 8 connections, 5 s) on GET /placement/allocation_candidates
#              ?resources=VCPU:1,MEMORY_MB:128,DISK_GB:1&limit=1000 (placement 1.36)
# and prints a Markdown table, the server's RSS, and the commands.
#
# Environment: MONOSTACK_BIN, BENCH_HOSTS (1000), BENCH_BOOTS (1000), BENCH_CONCURRENCY (32),
#              BENCH_LIST_SERVERS (10000), BENCH_REPEAT (3), TMPDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BIN=${MONOSTACK_BIN:-./build/monostack}
HOSTS=${BENCH_HOSTS:-1000}
BOOTS=${BENCH_BOOTS:-1000}
CONC=${BENCH_CONCURRENCY:-32}
LIST_SERVERS=${BENCH_LIST_SERVERS:-10000}
REPEAT=${BENCH_REPEAT:-3}
PY=/usr/bin/python3
. bench/lib.sh

for v in HOSTS BOOTS CONC LIST_SERVERS REPEAT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer (got '${!v}')"
done
[[ -x $BIN ]] || die "$BIN is not an executable: build it with make (or set MONOSTACK_BIN)"
for tool in curl wrk qemu-img openstack "$PY"; do
	command -v "$tool" >/dev/null || die "$tool is missing"
done

bench_init compute
printf '[compute]\ndriver = fake\nfake_hosts = %s\n' "$HOSTS" >"$TMP/bench.conf"
bench_start --config "$TMP/bench.conf"
bench_token
RSS_START=$(bench_rss)
C=$BASE/compute/v2.1
P=$BASE/placement
api() { curl -sS -f -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' "$@"; }
upload() { curl -sS -f -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/octet-stream' "$@"; }

# --- set-up: quotas, image ----------------------------------------------------------------------
PROJECT=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"]["project"]["id"])' "$TMP/token.json")
api -X PUT -d '{"quota_set":{"instances":-1,"cores":-1,"ram":-1}}' "$C/os-quota-sets/$PROJECT" >/dev/null ||
	die "could not lift the quotas"
qemu-img create -q -f qcow2 "$TMP/disk.qcow2" 1G
IMAGE=$(api -X POST -d '{"name":"bench","disk_format":"qcow2","container_format":"bare"}' "$BASE/image/v2/images" |
	$PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')
upload -X PUT --data-binary @"$TMP/disk.qcow2" \
	"$BASE/image/v2/images/$IMAGE/file" >/dev/null || die "image upload failed"
FLAVOR=42
# Wait until every simulated host is a placement provider.
for _ in $(seq 600); do
	n=$(api -H 'OpenStack-API-Version: placement 1.14' "$P/resource_providers" |
		$PY -c 'import json,sys; print(len(json.load(sys.stdin)["resource_providers"]))')
	(( n >= HOSTS )) && break
	sleep 0.1
done
(( n >= HOSTS )) || die "only $n of $HOSTS hosts registered in placement"

# --- boots ----------------------------------------------------------------------------------------
BOOT_OUT=$($PY bench/compute/boot.py "$C" "$TOKEN" "$IMAGE" "$FLAVOR" "$BOOTS" "$CONC")
echo "$BOOT_OUT" >&2
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# --- fill up to LIST_SERVERS ---------------------------------------------------------------------
have=$(field booted "$BOOT_OUT")
while (( have < LIST_SERVERS )); do
	n=$(( LIST_SERVERS - have < 500 ? LIST_SERVERS - have : 500 ))
	api -H 'OpenStack-API-Version: compute 2.37' -X POST -d "{\"server\":{\"name\":\"fill\",\"imageRef\":\"$IMAGE\",\"flavorRef\":\"$FLAVOR\",\"networks\":\"none\",\"min_count\":$n,\"max_count\":$n}}" \
		"$C/servers" >/dev/null || die "multi-create of $n failed"
	have=$(( have + n ))
done
for _ in $(seq 1200); do
	building=$(api "$C/servers?status=BUILD&limit=1" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["servers"]))')
	(( building == 0 )) && break
	sleep 0.5
done

# --- list -------------------------------------------------------------------------------------------
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
list_api() {
	$PY - "$C" "$TOKEN" <<'PYEOF'
import http.client, json, sys, time, urllib.parse
base, token = sys.argv[1:3]
u = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
t0 = time.monotonic(); path = u.path + "/servers/detail"; n = 0
while path:
    conn.request("GET", path, headers={"X-Auth-Token": token})
    r = conn.getresponse(); body = json.loads(r.read())
    n += len(body["servers"])
    nxt = [l["href"] for l in body.get("servers_links", []) if l["rel"] == "next"]
    path = urllib.parse.urlsplit(nxt[0]).path + "?" + urllib.parse.urlsplit(nxt[0]).query if nxt else None
print("%.3f %d" % (time.monotonic() - t0, n))
PYEOF
}
API_TIMES=() CLI_TIMES=()
for _ in $(seq "$REPEAT"); do
	read -r t n < <(list_api)
	API_TIMES+=("$t")
	t0=$(date +%s.%N)
	OS_AUTH_TYPE=token OS_TOKEN=$TOKEN OS_AUTH_URL=$BASE/identity/v3 OS_PROJECT_ID=$PROJECT \
		openstack server list --long --limit -1 -f value -c ID >"$TMP/cli.out"
	t1=$(date +%s.%N)
	CLI_TIMES+=("$(printf "%.2f" "$(echo "$t1 - $t0" | bc)")")
done
TOTAL=$n
API_MED=$(printf '%s\n' "${API_TIMES[@]}" | median)
CLI_MED=$(printf '%s\n' "${CLI_TIMES[@]}" | median)
CLI_ROWS=$(wc -l <"$TMP/cli.out")

# --- allocation candidates ---------------------------------------------------------------------------
AC_URL="$P/allocation_candidates?resources=VCPU:1,MEMORY_MB:128,DISK_GB:1&limit=1000"
AC_OUT=$(wrk -t2 -c8 -d5s --latency -H "X-Auth-Token: $TOKEN" -H 'OpenStack-API-Version: placement 1.36' "$AC_URL")
AC_RPS=$(awk '/Requests\/sec/ { print $2 }' <<<"$AC_OUT")
AC_P50=$(awk '$1 == "50%" { print $2 }' <<<"$AC_OUT")
AC_P99=$(awk '$1 == "99%" { print $2 }' <<<"$AC_OUT")
RSS_END=$(bench_rss)

cat <<EOF2
## compute (fake driver, $HOSTS hosts) — $(date -u +%Y-%m-%d)

| measure | figure |
|---|---|
| boots | $(field booted "$BOOT_OUT") ACTIVE, $(field errors "$BOOT_OUT") errors in $(field seconds "$BOOT_OUT") s at concurrency $CONC: **$(field boots_per_s "$BOOT_OUT") boots/s** |
| POST→ACTIVE | p50 $(field p50_ms "$BOOT_OUT") ms, p99 $(field p99_ms "$BOOT_OUT") ms, max $(field max_ms "$BOOT_OUT") ms |
| servers in the list | $TOTAL |
| GET /servers/detail, all pages | median $API_MED s of $REPEAT |
| \`openstack server list --long --limit -1\` | median $CLI_MED s of $REPEAT ($CLI_ROWS rows, CLI start-up included) |
| allocation candidates (limit 1000) | $AC_RPS req/s, p50 $AC_P50, p99 $AC_P99 |

- server RSS after start: $RSS_START; at the end: $RSS_END

Commands:
\`\`\`
${SERVER_CMD[*]//$PASSWORD/\$ADMIN_PASSWORD}   # with $(tr '\n' ' ' <"$TMP/bench.conf")
bench/compute/boot.py $C \$TOKEN IMAGE $FLAVOR $BOOTS $CONC
openstack server list --long --limit -1
wrk -t2 -c8 -d5s --latency -H "X-Auth-Token: \$TOKEN" -H 'OpenStack-API-Version: placement 1.36' '$AC_URL'
\`\`\`
EOF2
