#!/usr/bin/env bash
# scripts/run_unit.sh — runs the cmocka unit test binaries given as arguments, then replays the
# fuzz corpora (fuzz/regress.sh), and sums up as "unit: N passed, N failed" (cmocka test cases).
#
# Usage: scripts/run_unit.sh build/tests/core/test_router build/tests/core/test_db ...
# Without MONOSTACK_TEST_DB in the environment a throwaway PostgreSQL is started for the run
# (scripts/pg.sh) so the PostgreSQL halves of the database tests run too; when it cannot start,
# they are skipped. UNIT_TIMEOUT (seconds, default 600) bounds each binary.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
timeout_s="${UNIT_TIMEOUT:-600}"
passed=0 failed=0 skipped=0
failed_bins=()

pgdir=""
cleanup() {
	if [[ -n "$pgdir" ]]; then
		"$root/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true
		rm -rf "$pgdir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "${MONOSTACK_TEST_DB:-}" && -x "$root/scripts/pg.sh" ]]; then
	pgdir="$(mktemp -d /tmp/monostack-unit-pg.XXXXXX)"
	if url="$(PG_FAST=1 "$root/scripts/pg.sh" start "$pgdir" 2>"$pgdir/start.log")" && [[ -n "$url" ]]; then
		export MONOSTACK_TEST_DB="$url"
		echo "unit: PostgreSQL for this run at $url"
	else
		echo "unit: could not start PostgreSQL (PostgreSQL tests will be skipped):"
		sed 's/^/    /' "$pgdir/start.log" | tail -n 5
	fi
fi

# Adds the counts of one binary's cmocka summary; a binary that died without one counts as
# one failure.
count() {
	local out="$1" rc="$2" p f s
	p="$(grep -aoE '\[  PASSED  \] [0-9]+ test' <<<"$out" | awk '{s += $(NF-1)} END {print s + 0}')"
	f="$(grep -aoE '\[  FAILED  \] [0-9]+ test' <<<"$out" | awk '{s += $(NF-1)} END {print s + 0}')"
	s="$(grep -aoE '\[  SKIPPED \] [0-9]+ test' <<<"$out" | awk '{s += $(NF-1)} END {print s + 0}')"
	if ((rc != 0 && f == 0)); then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	return $((rc != 0 || f != 0))
}

for bin in "$@"; do
	echo "=== $bin"
	out="$(timeout --kill-after=10 "$timeout_s" "$bin" 2>&1)"
	rc=$?
	printf '%s\n' "$out"
	((rc == 124 || rc == 137)) && echo "unit: $bin timed out after ${timeout_s}s"
	count "$out" "$rc" || failed_bins+=("$bin")
done

# Saved fuzz inputs replay as one more test.
if [[ -x "$root/fuzz/regress.sh" ]]; then
	echo "=== fuzz/regress.sh"
	if "$root/fuzz/regress.sh"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_bins+=("fuzz/regress.sh")
	fi
fi

if ((${#failed_bins[@]})); then
	echo "unit: failing: ${failed_bins[*]}"
fi
((skipped)) && echo "unit: $skipped test(s) skipped"
echo "unit: $passed passed, $failed failed"
((failed == 0 && ${#failed_bins[@]} == 0))
