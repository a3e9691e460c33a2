#!/usr/bin/env bash
# bench/compute/qemu.sh — a real guest: seconds from POST /servers to the guest's first marker
# line on its console ("monostack-tiny: booted", read through os-getConsoleOutput every 0.1 s),
# beside a bare qemu-system-x86_64 boot of the same kernel, initramfs and disk (console to a
# file, polled every 0.05 s) in the same run. The tiny guest comes from tests/images/build-tiny.sh
# (cached in build/tiny); the cloud uses [compute] driver = qemu with the accelerator it probes
# (TCG on this machine). One guest at a time; each server is deleted (and its QEMU gone) before
# the next; bare guests are stopped by their pidfile's PID.
#
# Environment: MONOSTACK_BIN, BENCH_REPEAT (3), TMPDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BIN=${MONOSTACK_BIN:-./build/monostack}
REPEAT=${BENCH_REPEAT:-3}
PY=/usr/bin/python3
. bench/lib.sh
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer (got '$REPEAT')"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)"
tests/images/build-tiny.sh build/tiny >&2 || die "could not build the tiny guest"
TINY=$ROOT/build/tiny

bench_init qemu
BARE_PID=
cleanup_bare() { [[ -z $BARE_PID ]] || kill "$BARE_PID" 2>/dev/null || true; BARE_PID=; }
trap 'cleanup_bare; bench_cleanup' EXIT
# Short paths: QEMU's QMP socket path must fit in 108 bytes.
printf '[compute]\ndriver = qemu\n[image]\ntiny_image_dir = %s\n' "$TINY" >"$TMP/bench.conf"
bench_start --config "$TMP/bench.conf"
bench_token
C=$BASE/compute/v2.1
api() { curl -sS -f -H "X-Auth-Token: $TOKEN" -H 'Content-Type: application/json' -H 'OpenStack-API-Version: compute 2.37' "$@"; }
IMAGE=$(api "$BASE/image/v2/images?name=tiny" | $PY -c 'import json,sys; print(json.load(sys.stdin)["images"][0]["id"])') ||
	die "the tiny image was not registered"
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

CLOUD=()
for i in $(seq "$REPEAT"); do
	t0=$(date +%s.%N)
	SID=$(api -X POST -d "{\"server\":{\"name\":\"q$i\",\"imageRef\":\"$IMAGE\",\"flavorRef\":\"42\",\"networks\":\"none\"}}" \
		"$C/servers" | $PY -c 'import json,sys; print(json.load(sys.stdin)["server"]["id"])')
	t=
	for _ in $(seq 600); do
		if api -X POST -d '{"os-getConsoleOutput":{"length":50}}' "$C/servers/$SID/action" 2>/dev/null |
			grep -q 'monostack-tiny: booted'; then
			t=$(printf "%.2f" "$(echo "$(date +%s.%N) - $t0" | bc)")
			break
		fi
		sleep 0.1
	done
	CLOUD+=("${t:-timeout}")
	api -X DELETE "$C/servers/$SID" >/dev/null
	for _ in $(seq 300); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $TOKEN" "$C/servers/$SID")
		[[ $code == 404 ]] && break
		sleep 0.1
	done
done
RSS=$(bench_rss)
bench_stop

BARE=()
mkdir -p "$TMP/bare"
for i in $(seq "$REPEAT"); do
	rm -f "$TMP/bare/"*
	qemu-img create -q -f qcow2 -F qcow2 -b "$TINY/tiny.qcow2" "$TMP/bare/disk.qcow2"
	t0=$(date +%s.%N)
	qemu-system-x86_64 -machine q35 -accel tcg -m 128 -smp 1 -nodefaults -no-user-config -display none \
		-kernel "$TINY/tiny-vmlinuz" -initrd "$TINY/tiny-initrd" -append "console=ttyS0 $(cat "$TINY/tiny.cmdline")" \
		-serial "file:$TMP/bare/console.log" -drive "file=$TMP/bare/disk.qcow2,format=qcow2,if=virtio" \
		-pidfile "$TMP/bare/qemu.pid" -daemonize
	BARE_PID=$(cat "$TMP/bare/qemu.pid")
	t=
	for _ in $(seq 1200); do
		if grep -aq "monostack-tiny: booted" "$TMP/bare/console.log" 2>/dev/null; then
			t=$(printf "%.2f" "$(echo "$(date +%s.%N) - $t0" | bc)")
			break
		fi
		sleep 0.05
	done
	cleanup_bare
	BARE+=("${t:-timeout}")
	sleep 0.5
done

cat <<EOF2
## compute with the qemu driver (tiny guest, m1.nano, TCG) — $(date -u +%Y-%m-%d)

| boot | runs (s) | median (s) |
|---|---|---|
| monostack: POST /servers → marker on the console | ${CLOUD[*]} | $(printf '%s\n' "${CLOUD[@]}" | median) |
| bare qemu-system-x86_64 → marker in its console file | ${BARE[*]} | $(printf '%s\n' "${BARE[@]}" | median) |

- server RSS during the runs (QEMU processes are separate): $RSS
EOF2
