#!/usr/bin/env bash
# tests/run_api.sh — run the API tests (tests/api) against SQLite, then against a throwaway
# PostgreSQL cluster (scripts/pg.sh), with MONOSTACK_TEST_DB set to its URL.
#
# Usage: tests/run_api.sh [PYTEST ARGS...]      e.g. tests/run_api.sh -k token -x
# Environment: API_DBS="sqlite postgresql" (default; pick one to run only that),
#              MONOSTACK_BIN (default build/monostack).
# Both databases run even if the first fails; exit 1 if either fails. pytest's exit 5 (no tests
# collected) counts as a failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

run_pytest() {  # LABEL [MONOSTACK_TEST_DB]
  local label="$1" db="${2:-}" rc=0
  echo "=== API tests on $label" >&2
  if [[ -n "$db" ]]; then
    MONOSTACK_TEST_DB="$db" /usr/bin/python3 -m pytest tests/api "${pytest_args[@]}" || rc=$?
  else
    env -u MONOSTACK_TEST_DB /usr/bin/python3 -m pytest tests/api "${pytest_args[@]}" || rc=$?
  fi
  case "$rc" in
    0) return 0 ;;
    5) echo "API tests on $label FAILED: pytest collected no tests (exit 5)" >&2 ;;
    *) echo "API tests on $label FAILED (pytest exit $rc)" >&2 ;;
  esac
  return 1
}

pytest_args=("$@")
failed=()
pgdir=""
cleanup() {
  if [[ -n "$pgdir" ]]; then
    scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$pgdir"
  fi
}
trap cleanup EXIT

for db in ${API_DBS:-sqlite postgresql}; do
  case "$db" in
    sqlite)
      run_pytest sqlite || failed+=(sqlite)
      ;;
    postgresql)
      pgdir="$(mktemp -d "${TMPDIR:-/tmp}/monostack-pg.XXXXXX")"
      url="$(scripts/pg.sh start "$pgdir")"
      run_pytest "postgresql ($url)" "$url" || failed+=(postgresql)
      scripts/pg.sh stop "$pgdir" >/dev/null
      rm -rf "$pgdir"
      pgdir=""
      ;;
    *) echo "run_api.sh: unknown database '$db' in API_DBS" >&2; exit 2 ;;
  esac
done

if ((${#failed[@]})); then
  echo "API tests failed on: ${failed[*]}" >&2
  exit 1
fi
