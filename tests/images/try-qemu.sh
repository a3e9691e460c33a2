#!/usr/bin/env bash
# tests/images/try-qemu.sh — the qemu driver against a real guest: builds the tiny image
# (build-tiny.sh, cached in build/tiny), compiles tests/images/try_qemu.c with the driver's
# sources, runs it (spawn with a config drive, power actions, reconnect, destroy), then boots
# the same image with a bare qemu-system-x86_64 for comparison. One guest at a time; every
# guest is stopped by its own pid on exit.
#
# Usage: tests/images/try-qemu.sh [BARE_RUNS]   (default 3 bare boots)
# Needs qemu-system-x86 and qemu-utils (installed with apt-get when missing and root).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
bare_runs="${1:-3}"
imgdir="${TINY_DIR:-$root/build/tiny}"
work="$(mktemp -d /tmp/try-qemu.XXXXXX)"
bare_pidfile="$work/bare/qemu.pid"

# Stops every guest this run started: the pid in each pidfile, only when that process's
# command line names the pidfile (so a reused pid is never hit).
cleanup() {
	local pf pid
	for pf in "$work"/state/*/qemu.pid "$bare_pidfile"; do
		[[ -f "$pf" ]] || continue
		pid="$(cat "$pf" 2>/dev/null || true)"
		[[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || continue
		if tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF "$pf"; then
			kill "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v qemu-img >/dev/null || missing+=(qemu-utils)
if ((${#missing[@]})); then
	[[ $(id -u) == 0 ]] || { echo "try-qemu: missing ${missing[*]}"; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

"$root/tests/images/build-tiny.sh" "$imgdir"

src=(virt/iso9660.c virt/configdrive.c virt/cache.c virt/qemu.c virt/qemu_proc.c virt/qemu_qmp.c
	virt/qemu_state.c virt/qemu_power.c core/util.c core/log.c)
cc -std=c17 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation \
	-Wno-missing-field-initializers -pthread -I"$root/src" $(pkg-config --cflags jansson) \
	-o "$work/try_qemu" "$root/tests/images/try_qemu.c" "${src[@]/#/$root/src/}" \
	$(pkg-config --libs jansson) -pthread

mkdir -p "$work/state"
rc=0
"$work/try_qemu" "$imgdir" "$work/state" || rc=$?

# The same image with a bare QEMU: the accelerator the driver would pick here (its log says).
accel="${MONOSTACK_QEMU_ACCEL:-tcg}"
mkdir -p "$work/bare"
times=()
for ((i = 0; i < bare_runs; i++)); do
	rm -f "$work/bare/"*
	qemu-img create -q -f qcow2 -F qcow2 -b "$imgdir/tiny.qcow2" "$work/bare/disk.qcow2"
	t0=$(date +%s.%N)
	qemu-system-x86_64 -machine q35 -accel "$accel" -m 256 -smp 1 -nodefaults -no-user-config \
		-display none -kernel "$imgdir/tiny-vmlinuz" -initrd "$imgdir/tiny-initrd" \
		-append "$(cat "$imgdir/tiny.cmdline")" -serial "file:$work/bare/console.log" \
		-drive "file=$work/bare/disk.qcow2,format=qcow2,if=virtio" \
		-netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0,romfile= \
		-pidfile "$bare_pidfile" -daemonize
	t=""
	for ((k = 0; k < 600; k++)); do
		if grep -aq "monostack-tiny: booted" "$work/bare/console.log" 2>/dev/null; then
			t="$(echo "$(date +%s.%N) - $t0" | bc)"
			break
		fi
		sleep 0.05
	done
	kill "$(cat "$bare_pidfile")"
	sleep 0.5
	times+=("${t:-timeout}")
done
echo "try-qemu: bare qemu-system-x86_64 boot to marker (s): ${times[*]}"
exit $rc
