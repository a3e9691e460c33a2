#!/usr/bin/env bash
# fuzz/regress.sh — replays every saved input (fuzz/corpus/<target>/ and fuzz/crashes/<target>/)
# through a plain gcc + ASan/UBSan build of each fuzz target, without libFuzzer. Part of
# `make check` (scripts/run_unit.sh). Exits non-zero when a build or any input fails.
set -uo pipefail
cd "$(dirname "$0")"

mkdir -p build
if ! make -s regress >build/regress.log 2>&1; then
	cat build/regress.log
	echo "fuzz/regress.sh: building the replay drivers failed"
	exit 1
fi

status=0
for dir in corpus/*/ crashes/*/; do
	[[ -d "$dir" ]] || continue
	target="$(basename "$dir")"
	bin="build/regress/$target"
	if [[ ! -x "$bin" ]]; then
		echo "fuzz/regress.sh: $dir has no target $target"
		status=1
		continue
	fi
	if ! out="$("$bin" "$dir" 2>&1)"; then
		printf '%s\n' "$out" | tail -n 40
		echo "fuzz/regress.sh: $dir FAILED"
		status=1
	else
		echo "fuzz/regress.sh: $dir ok (${out##*: })"
	fi
done
exit $status
