#!/usr/bin/env bash
# bench/image/run.sh — upload and download throughput of a 1 GiB image through the Glance v2 API
# of monostack on loopback, as a ratio to what the machine itself does in the same run.
#
# Starts a throw-away cloud (fresh data dir under $TMPDIR, random admin password, free loopback
# port, no ~/.config/openstack/clouds.yaml) from ./build/monostack, gets an admin token with curl,
# writes a 1 GiB file of random bytes (random: the file store keeps all-zero blocks as holes, so
# zeros would flatter it) next to the data dir, and measures, BENCH_REPEAT times each (the
# median is reported):
#   disk copy   dd if=SRC of=COPY bs=1M conv=fsync     the write an upload does (the file store
#                                                      fsyncs before the image goes active)
#   disk read   dd if=STORED of=/dev/null bs=1M        reading the stored image file back
#   loopback    SRC over one TCP connection on 127.0.0.1 (sendfile to a reader that discards)
#   hashing     openssl dgst -md5, then -sha512 of SRC: the checksums an upload computes (the
#               server uses OpenSSL too) on one core; it explains the upload figure and is not
#               part of the ratio
#   upload      curl -T SRC  PUT  /image/v2/images/ID/file     (then the image must be active
#                                                               with the right size and md5)
#   download    curl -o /dev/null GET /image/v2/images/ID/file (the md5 of the bytes is checked
#                                                               by one more, untimed download)
# then the metadata API rate with wrk (2 threads, 8 connections, BENCH_LIST_SECONDS each) over
# 25 images of 5 extra properties and 2 tags: GET /v2/images (one page of all 25) and GET
# /v2/images/ID,
# and prints a Markdown table in MB/s (10^6 bytes per second) with
#   upload ratio   = upload   / min(disk copy, loopback)
#   download ratio = download / min(disk read, loopback)
# (a pipelined transfer can go no faster than its slower stage), the server's VmRSS/VmHWM, and
# the exact commands. Each upload goes to a new image, deleted after its download. The page cache
# is not dropped: every figure is taken with SRC and the stored file as cached as they are for
# the server. The server is stopped by its PID (SIGTERM, SIGKILL after 10 s) on any exit.
# Exit status: 0 when every transfer succeeded and checked out, 1 otherwise, 2 on set-up failure.
#
# Environment:
#   MONOSTACK_BIN   server binary (default ./build/monostack, relative to the repo root)
#   BENCH_SIZE_MB   image size in MiB (default 1024)
#   BENCH_REPEAT    measurements of each kind (default 3)
#   TMPDIR          where the data dir and the files go (must hold 3 x the image size)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

BIN=${MONOSTACK_BIN:-./build/monostack}
SIZE_MB=${BENCH_SIZE_MB:-1024}
REPEAT=${BENCH_REPEAT:-3}
LIST_SECONDS=${BENCH_LIST_SECONDS:-5}
PY=/usr/bin/python3

. bench/lib.sh

[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZE_MB must be a positive integer (got '$SIZE_MB')"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer (got '$REPEAT')"
[[ -x $BIN ]] || die "$BIN is not an executable: build it with make (or set MONOSTACK_BIN)"
for tool in curl dd md5sum openssl "$PY"; do
	command -v "$tool" >/dev/null || die "$tool is missing"
done
SIZE=$(( SIZE_MB * 1024 * 1024 ))

# --- the server -------------------------------------------------------------------------------
bench_init image
avail_kib=$(df -Pk "$TMP" | awk 'NR == 2 { print $4 }')
(( avail_kib > 3 * SIZE / 1024 )) || die "$TMP has $((avail_kib >> 10)) MiB free; needs $((3 * SIZE >> 20)) MiB"
bench_start
rss() { bench_rss; }
bench_token
RSS_START=$(rss)

IMG=$BASE/image/v2

# --- the data ----------------------------------------------------------------------------------
SRC=$TMP/src.img
head -c "$SIZE" /dev/urandom >"$SRC"
SRC_MD5=$(md5sum "$SRC" | awk '{ print $1 }')
cat "$SRC" >/dev/null   # as cached as it will be for curl

# --- measuring ---------------------------------------------------------------------------------
now() { echo "$EPOCHREALTIME"; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? b / s / 1e6 : 0) }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.0f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

FAILED=0
CHECKED=
declare -A SPEEDS=()
add() { SPEEDS[$1]+="$2 "; }

disk_copy() {
	local t0 t1
	t0=$(now)
	dd if="$SRC" of="$TMP/copy.img" bs=1M conv=fsync status=none
	t1=$(now)
	rm -f "$TMP/copy.img"
	add disk_copy "$(mbps "$SIZE" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
}

disk_read() {   # disk_read FILE
	local t0 t1
	t0=$(now)
	dd if="$1" of=/dev/null bs=1M status=none
	t1=$(now)
	add disk_read "$(mbps "$(stat -c %s "$1")" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
}

hashing() {   # what an upload must compute: md5 then sha512 of the data, on one core
	local t0 t1
	t0=$(now)
	openssl dgst -md5 "$SRC" >/dev/null
	openssl dgst -sha512 "$SRC" >/dev/null
	t1=$(now)
	add hashing "$(mbps "$SIZE" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")"
}

loopback() {
	local secs
	secs=$("$PY" - "$SRC" <<'PYEOF'
import socket, sys, threading, time
path = sys.argv[1]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
got = []
def sink():
    c, _ = srv.accept()
    buf = bytearray(1 << 20)
    n = 0
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        n += k
    got.append(n)
t = threading.Thread(target=sink)
t.start()
s = socket.create_connection(srv.getsockname())
t0 = time.perf_counter()
with open(path, "rb") as f:
    s.sendfile(f)
s.shutdown(socket.SHUT_WR)
t.join()
print(time.perf_counter() - t0)
PYEOF
)
	add loopback "$(mbps "$SIZE" "$secs")"
}

CREATE_BODY='{"name":"bench","disk_format":"raw","container_format":"bare"}'
image_create() {
	curl -sS -f --max-time 30 -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' \
		-d "$CREATE_BODY" "$IMG/images" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}

image_field() {   # image_field ID FIELD
	curl -sS -f --max-time 30 -H "X-Auth-Token: $TOKEN" "$IMG/images/$1" |
		"$PY" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

transfer() {   # one upload + download round
	local id out code secs size stored dl_md5
	id=$(image_create) || { echo "bench: image create failed" >&2; FAILED=1; return; }
	out=$(curl -sS -o "$TMP/up.out" -w '%{http_code} %{time_total}' --max-time 600 -T "$SRC" \
		-H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/octet-stream' "$IMG/images/$id/file" || true)
	read -r code secs <<<"$out"
	if [[ $code != 204 || $(image_field "$id" status) != active || $(image_field "$id" size) != "$SIZE" ||
	      $(image_field "$id" checksum) != "$SRC_MD5" ]]; then
		echo "bench: upload to $id answered '$out' and did not leave an active image with the file's size and md5:" >&2
		head -c 1000 "$TMP/up.out" >&2; echo >&2
		FAILED=1
	else
		add upload "$(mbps "$SIZE" "$secs")"
	fi
	# the stored file as the server will read it
	stored=$(find "$TMP/data/images" -type f -size +$((SIZE / 1024 - 1))k -newer "$SRC" -printf '%T@ %p\n' 2>/dev/null |
		sort -n | tail -n 1 | cut -d' ' -f2-)
	[[ -n $stored ]] && disk_read "$stored"
	# timed to /dev/null (a hashing client would be the slower end); the bytes are checked once
	out=$(curl -sS -o /dev/null -w '%{http_code} %{time_total} %{size_download}' --max-time 600 \
		-H "X-Auth-Token: $TOKEN" "$IMG/images/$id/file" || true)
	read -r code secs size <<<"$out"
	if [[ $code != 200 || $size != "$SIZE" ]]; then
		echo "bench: download of $id answered '$out' (want 200 and $SIZE bytes)" >&2
		FAILED=1
	else
		add download "$(mbps "$SIZE" "$secs")"
	fi
	if [[ -z $CHECKED ]]; then
		dl_md5=$(curl -sS -f --max-time 600 -H "X-Auth-Token: $TOKEN" "$IMG/images/$id/file" | md5sum | awk '{ print $1 }')
		if [[ $dl_md5 != "$SRC_MD5" ]]; then
			echo "bench: the bytes downloaded from $id have md5 $dl_md5 (want $SRC_MD5)" >&2
			FAILED=1
		fi
		CHECKED=1
	fi
	curl -sS -o /dev/null -X DELETE -H "X-Auth-Token: $TOKEN" "$IMG/images/$id" || true
}

LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
for ((i = 1; i <= REPEAT; i++)); do
	kill -0 "$SERVER_PID" 2>/dev/null || { FAILED=1; break; }
	disk_copy
	loopback
	hashing
	transfer
done
# --- metadata rate -------------------------------------------------------------------------------
STATUS_LUA="$ROOT/bench/identity/status.lua"
RATES=""
rate() {   # rate LABEL URL: one wrk run (status.lua prints a BENCH_RESULT line); a table row
	local out line rps p50 p99 errs
	out=$(wrk -t2 -c8 -d"${LIST_SECONDS}s" --timeout 10s --latency -s "$STATUS_LUA" \
		-H "X-Auth-Token: $TOKEN" "$2" 2>&1) || { echo "bench: wrk failed: $out" >&2; FAILED=1; return; }
	line=$(grep '^BENCH_RESULT ' <<<"$out") || { echo "bench: no wrk result: $out" >&2; FAILED=1; return; }
	rps=$(sed -E 's/.* rps=([0-9]+).*/\1/' <<<"$line")
	p50=$(sed -E 's/.* p50_us=([0-9]+).*/\1/' <<<"$line")
	p99=$(sed -E 's/.* p99_us=([0-9]+).*/\1/' <<<"$line")
	errs=$(awk '{ n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^(non2xx|sock_[a-z]+)=/) { split($i, kv, "="); n += kv[2] } print n }' <<<"$line")
	[[ $errs == 0 ]] || FAILED=1
	RATES+="| $1 | $rps | $((p50 / 1000)).$(printf '%02d' $((p50 % 1000 / 10))) ms | $((p99 / 1000)).$(printf '%02d' $((p99 % 1000 / 10))) ms | $errs |"$'\n'
}
if command -v wrk >/dev/null; then
	for ((i = 0; i < 25; i++)); do
		CREATE_BODY="{\"name\":\"list-$i\",\"disk_format\":\"qcow2\",\"container_format\":\"bare\",\"os_distro\":\"debian\",\"os_version\":\"12\",\"hw_disk_bus\":\"virtio\",\"architecture\":\"x86_64\",\"description\":\"bench image $i\",\"tags\":[\"bench\",\"t$i\"]}"
		LIST_ID=$(image_create) || { FAILED=1; break; }
	done
	CREATE_BODY='{"name":"bench","disk_format":"raw","container_format":"bare"}'
	rate "image list (GET /v2/images, 25 per page)" "$IMG/images?limit=25"
	rate "image show (GET /v2/images/ID)" "$IMG/images/$LIST_ID"
else
	echo "bench: wrk not installed: no metadata rates" >&2
fi

LOAD_AFTER=$(cut -d" " -f1-3 /proc/loadavg)
if kill -0 "$SERVER_PID" 2>/dev/null; then
	RSS_END=$(rss)
else
	RSS_END="(server gone)"
	FAILED=1
fi

# --- the report --------------------------------------------------------------------------------
med() {   # the median of the figures of one kind, 0 without any
	local v
	read -ra v <<<"${SPEEDS[$1]:-}"
	if ((${#v[@]})); then median "${v[@]}"; else echo 0; fi
}
DISK_COPY=$(med disk_copy) DISK_READ=$(med disk_read) LOOP=$(med loopback)
UP=$(med upload) DOWN=$(med download) HASH=$(med hashing)
minof() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
ratio() { awk -v v="$1" -v a="$2" -v b="$3" 'BEGIN { m = (a < b ? a : b); if (m > 0) printf "%.2f", v / m; else print "-" }'; }
UP_RATIO=$(ratio "$UP" "$DISK_COPY" "$LOOP")
DOWN_RATIO=$(ratio "$DOWN" "$DISK_READ" "$LOOP")

rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] && rev+=" (with uncommitted changes)"
cat <<EOF
## Image data benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')

- monostack: $("$BIN" version 2>/dev/null || echo '?'), commit $rev; file store under $(df -P "$TMP" | awk 'NR == 2 { print $1 }') ($(findmnt -n -o FSTYPE --target "$TMP" 2>/dev/null || echo '?'))
- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr); curl $(curl --version | awk 'NR == 1 { print $2 }'); client and server share them
- image: $SIZE_MB MiB of random bytes; $REPEAT measurements of each kind, median shown (all: in MB/s below)
- load average (1, 5, 15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER

| transfer | MB/s | reference | MB/s | ratio |
| --- | ---: | --- | ---: | ---: |
| upload (PUT .../file) | $UP | min(disk copy, loopback) | $(minof "$DISK_COPY" "$LOOP") | $UP_RATIO |
| download (GET .../file) | $DOWN | min(disk read, loopback) | $(minof "$DISK_READ" "$LOOP") | $DOWN_RATIO |

| baseline | MB/s |
| --- | ---: |
| disk copy (dd bs=1M conv=fsync) | $DISK_COPY |
| disk read of the stored image (dd bs=1M) | $DISK_READ |
| loopback TCP (sendfile → recv) | $LOOP |
| md5 + sha512 on one core (openssl dgst -md5, then -sha512; not in the ratios) | $HASH |

| metadata request (wrk -t2 -c8) | requests/s | p50 | p99 | errors |
| --- | ---: | ---: | ---: | ---: |
$RATES
All measurements (MB/s): disk copy: ${SPEEDS[disk_copy]:-}; disk read: ${SPEEDS[disk_read]:-}; loopback: ${SPEEDS[loopback]:-}; hashing: ${SPEEDS[hashing]:-}; upload: ${SPEEDS[upload]:-}; download: ${SPEEDS[download]:-}

- server RSS after start (/proc/$SERVER_PID/status): $RSS_START
- server RSS after the transfers: $RSS_END

Commands (TOKEN: an admin project token; ID: a new image per round):

\`\`\`
${SERVER_CMD[*]//$PASSWORD/\$ADMIN_PASSWORD}
head -c $SIZE /dev/urandom > SRC
dd if=SRC of=COPY bs=1M conv=fsync
dd if=DATA_DIR/images/... of=/dev/null bs=1M
curl -X POST -H "X-Auth-Token: \$TOKEN" -H 'Content-Type: application/json' -d '$CREATE_BODY' $IMG/images
curl -o /dev/null -w '%{http_code} %{time_total}' -T SRC -H "X-Auth-Token: \$TOKEN" -H 'Content-Type: application/octet-stream' $IMG/images/ID/file
curl -o /dev/null -w '%{http_code} %{time_total} %{size_download}' -H "X-Auth-Token: \$TOKEN" $IMG/images/ID/file
\`\`\`
EOF

if (( FAILED )); then
	echo "bench: some transfers failed (see above); the tail of the server log:" >&2
	tail -n 20 "$TMP/server.log" >&2 || true
	exit 1
fi
