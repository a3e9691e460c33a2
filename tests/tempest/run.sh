#!/usr/bin/env bash
# tests/tempest/run.sh — run one service's Tempest API tests against a fresh monostack.
#
# Usage: tests/tempest/run.sh SERVICE [--update] [--list] [--keep]
#   SERVICE   identity, image, compute (object, network, volume once their templates exist)
#   --update  add the tests that passed but are not in tests/tempest/SERVICE.pass to it (sorted)
#   --list    only print the test ids the regex selects (no server, no run)
#   --keep    keep the temporary workspace (its path is printed)
#
# Steps: makes a tempest workspace in a temp dir (`tempest init`), starts `monostack up` on a free
# loopback port with its own data dir, admin password and config file, writes etc/tempest.conf
# from tests/tempest/tempest.SERVICE.conf.in, runs `tempest run --regex ...`, saves the subunit
# stream, and writes passed.txt / failed.txt / skipped.txt / failures.txt (ids without the "[...]"
# suffix) to the output dir. Prints the new passes, the interop count
# (tests/tempest/interop/SERVICE.txt) and `tempest-SERVICE: N passed, N failed, N skipped`.
#
# compute: the server runs the fake virt driver with COMPUTE_NODES hosts; before tempest starts,
# tests/tempest/compute_setup.py uploads the two images tempest boots from and reads the highest
# microversion, and the configuration is written again with them.
#
# RATCHET: every test id in tests/tempest/SERVICE.pass must pass, else exit 1 (naming them).
# Also exit 1 if monostack does not start, or does not exit 0 on SIGTERM at the end.
#
# Environment:
#   MONOSTACK_BIN        binary (default <repo>/build/monostack)
#   MONOSTACK_TEST_DB    [database] connection for the server (default: its SQLite)
#   TEMPEST_CONCURRENCY  tempest workers (default 2)
#   TEMPEST_REGEX        override the test selection regex
#   TEMPEST_TIMEOUT      seconds for the whole tempest run (default 1800)
#   TEMPEST_OUT          output dir (default <repo>/build/tempest/SERVICE)
#   COMPUTE_NODES        fake compute hosts for the compute run (default 2)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
PY=/usr/bin/python3

die() { echo "tempest/run.sh: $*" >&2; exit 1; }
usage() { sed -n '2,31p' "${BASH_SOURCE[0]}" >&2; exit 2; }

# ---- arguments ---------------------------------------------------------------------------------
service="${1:-}"
[[ -n "$service" && "$service" != -* ]] || usage
shift
update=0 list_only=0 keep=0
for arg in "$@"; do
  case "$arg" in
    --update) update=1 ;;
    --list) list_only=1 ;;
    --keep) keep=1 ;;
    -h|--help) usage ;;
    *) die "unknown option $arg" ;;
  esac
done

# Per-service test selection. Each service needs tests/tempest/tempest.SERVICE.conf.in.
case "$service" in
  identity) regex='^tempest\.api\.identity' ;;
  image)    regex='^tempest\.api\.image' ;;
  object)   regex='^tempest\.api\.object_storage' ;;
  compute)  regex='^tempest\.api\.compute' ;;
  network)  regex='^tempest\.api\.network' ;;
  volume)   regex='^tempest\.api\.volume' ;;
  *) die "unknown service '$service'" ;;
esac
regex="${TEMPEST_REGEX:-$regex}"
template="$here/tempest.$service.conf.in"
pass_list="$here/$service.pass"
interop="$here/interop/$service.txt"
[[ -f "$template" ]] || die "no template $template"

bin="${MONOSTACK_BIN:-$repo/build/monostack}"
out="${TEMPEST_OUT:-$repo/build/tempest/$service}"
concurrency="${TEMPEST_CONCURRENCY:-2}"
run_timeout="${TEMPEST_TIMEOUT:-1800}"
command -v tempest >/dev/null || die "tempest not installed (scripts/deps.sh test)"

# Server security-compliance settings; the tempest.conf template gets the same numbers.
LOCKOUT_FAILURE_ATTEMPTS=2
LOCKOUT_DURATION=5
UNIQUE_LAST_PASSWORD_COUNT=2
MINIMUM_PASSWORD_AGE=0
COMPUTE_NODES="${COMPUTE_NODES:-2}"

# No OpenStack client settings or database override from the caller's environment.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^OS_|^MONOSTACK_DB$' || true)

# ---- workspace and cleanup ---------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/monostack-tempest-$service.XXXXXX")"
ms_pid=""

stop_server() {
  # Stop exactly the monostack this script started; require exit status 0.
  [[ -n "$ms_pid" ]] || return 0
  local pid="$ms_pid" rc=0 i
  ms_pid=""
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "monostack (pid $pid) still running 15 s after SIGTERM: killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || rc=$?
  if ((rc != 0)); then
    echo "monostack exited $rc on SIGTERM (expected 0); log tail:" >&2
    tail -n 30 "$work/monostack.log" >&2 || true
    return 1
  fi
}

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT
  stop_server || rc=1
  if [[ -d "$out" ]]; then
    cp -f "$work/monostack.log" "$out/monostack.log" 2>/dev/null || true
    # tempest init's etc/logging.conf logs to ./tempest.log; without it log_dir is used.
    local log
    for log in "$work/ws/tempest.log" "$work/ws/logs/tempest.log"; do
      [[ -s "$log" ]] && { cp -f "$log" "$out/tempest.log"; break; }
    done
  fi
  if ((keep)); then
    echo "workspace kept: $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Fill the @NAME@ placeholders of the template (values from the environment of this call:
# T_NAME for @NAME@; the first six are required, the compute ones used where set).
render_conf() {
  "$PY" - "$template" "$1" <<'PYEOF'
import os, re, sys
src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
names = ["WORKSPACE", "ADMIN_PASSWORD", "URI_V3", "LOCKOUT_FAILURE_ATTEMPTS",
         "LOCKOUT_DURATION", "UNIQUE_LAST_PASSWORD_COUNT"]
for n in names:
    text = text.replace(f"@{n}@", os.environ["T_" + n])
for n in ["COMPUTE_IMAGE_REF", "COMPUTE_IMAGE_REF_ALT", "COMPUTE_MAX_MICROVERSION",
          "COMPUTE_NODES"]:
    if "T_" + n in os.environ:
        text = text.replace(f"@{n}@", os.environ["T_" + n])
left = sorted(set(re.findall(r"@[A-Z0-9_]+@", text)))
if left:
    sys.exit(f"{src}: unknown placeholders {' '.join(left)}")
open(dst, "w").write(text)
PYEOF
}

# (from inside $work: tempest's CLI writes a tempest.log into its working directory)
(cd "$work" && tempest init --workspace-path "$work/workspace.yaml" "$work/ws") >"$work/init.log" 2>&1 \
  || { cat "$work/init.log" >&2; die "tempest init failed"; }

port="$(free_port)"
password="pw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
base="http://127.0.0.1:$port"
auth_url="$base/identity/v3"

export T_WORKSPACE="$work/ws" T_ADMIN_PASSWORD="$password" T_URI_V3="$auth_url" \
  T_LOCKOUT_FAILURE_ATTEMPTS="$LOCKOUT_FAILURE_ATTEMPTS" T_LOCKOUT_DURATION="$LOCKOUT_DURATION" \
  T_UNIQUE_LAST_PASSWORD_COUNT="$UNIQUE_LAST_PASSWORD_COUNT"
if [[ "$service" == compute ]]; then
  # Stand-ins until the server is up (enough for --list); compute_setup.py gives the real ones.
  export T_COMPUTE_IMAGE_REF=00000000-0000-0000-0000-000000000000 \
    T_COMPUTE_IMAGE_REF_ALT=00000000-0000-0000-0000-000000000001 \
    T_COMPUTE_MAX_MICROVERSION=2.1 T_COMPUTE_NODES="$COMPUTE_NODES"
fi
render_conf "$work/ws/etc/tempest.conf"

if ((list_only)); then
  (cd "$work/ws" && tempest run --list-tests --regex "$regex") 2>/dev/null \
    | grep -E '^tempest\.' | sed -E 's/\[[^]]*\]$//' | sort
  exit "${PIPESTATUS[0]}"
fi

# ---- output dir --------------------------------------------------------------------------------
mkdir -p "$out"
for f in passed.txt failed.txt skipped.txt failures.txt results.subunit tempest-run.log \
         tempest.log monostack.log monostack.conf tempest.conf summary.txt; do
  rm -f "$out/$f"
done

# ---- start monostack ---------------------------------------------------------------------------
[[ -x "$bin" ]] || die "monostack binary not found: $bin (run make)"
{
  if [[ -n "${MONOSTACK_TEST_DB:-}" ]]; then
    printf '[database]\nconnection = %s\n\n' "$MONOSTACK_TEST_DB"
  fi
  printf '[security_compliance]\n'
  printf 'lockout_failure_attempts = %s\n' "$LOCKOUT_FAILURE_ATTEMPTS"
  printf 'lockout_duration = %s\n' "$LOCKOUT_DURATION"
  printf 'unique_last_password_count = %s\n' "$UNIQUE_LAST_PASSWORD_COUNT"
  printf 'minimum_password_age = %s\n' "$MINIMUM_PASSWORD_AGE"
  if [[ "$service" == compute ]]; then
    printf '\n[compute]\ndriver = fake\nfake_hosts = %s\n' "$COMPUTE_NODES"
  fi
} >"$work/monostack.conf"
cp "$work/monostack.conf" "$out/monostack.conf"

"$bin" up --data-dir "$work/data" --bind "127.0.0.1:$port" --admin-password "$password" \
  --no-user-config --config "$work/monostack.conf" </dev/null >"$work/monostack.log" 2>&1 &
ms_pid=$!

ready=0
deadline=$((SECONDS + 10))
while ((SECONDS < deadline)); do
  if ! kill -0 "$ms_pid" 2>/dev/null; then
    rc=0; wait "$ms_pid" || rc=$?; ms_pid=""
    echo "monostack exited $rc before it was ready; log tail:" >&2
    tail -n 40 "$work/monostack.log" >&2 || true
    exit 1
  fi
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$auth_url" || true)"
  if [[ "$code" == 200 ]]; then ready=1; break; fi
  sleep 0.05
done
if ((!ready)); then
  echo "monostack not ready at $auth_url after 10 s; log tail:" >&2
  tail -n 40 "$work/monostack.log" >&2 || true
  exit 1
fi
echo "monostack pid $ms_pid on $base (db: ${MONOSTACK_TEST_DB:-sqlite default})" >&2

# ---- service-specific preparation --------------------------------------------------------------
if [[ "$service" == compute ]]; then
  setup="$("$PY" "$here/compute_setup.py" --auth-url "$auth_url" --password "$password" \
    --workdir "$work" --hosts "$COMPUTE_NODES")" || die "compute preparation failed"
  while IFS='=' read -r k v; do
    case "$k" in
      COMPUTE_IMAGE_REF|COMPUTE_IMAGE_REF_ALT|COMPUTE_MAX_MICROVERSION) export "T_$k=$v" ;;
    esac
  done <<<"$setup"
  echo "compute: images $T_COMPUTE_IMAGE_REF $T_COMPUTE_IMAGE_REF_ALT," \
    "microversions 2.1-$T_COMPUTE_MAX_MICROVERSION, $COMPUTE_NODES fake hosts" >&2
  render_conf "$work/ws/etc/tempest.conf"
fi

# ---- run tempest -------------------------------------------------------------------------------
cp "$work/ws/etc/tempest.conf" "$out/tempest.conf"
echo "tempest run --regex '$regex' --concurrency $concurrency" >&2
set +e
(cd "$work/ws" && timeout --kill-after=30 "$run_timeout" \
  tempest run --regex "$regex" --concurrency "$concurrency") 2>&1 | tee "$out/tempest-run.log"
tempest_rc=${PIPESTATUS[0]}
set -e
((tempest_rc != 124)) || echo "tempest run timed out after $run_timeout s" >&2

(cd "$work/ws" && stestr last --subunit) >"$out/results.subunit" 2>/dev/null || true
stop_server || server_rc=1

args=(--service "$service" --subunit "$out/results.subunit" --out "$out" --pass-list "$pass_list")
[[ -f "$interop" ]] && args+=(--interop "$interop")
((update)) && args+=(--update)
rc=0
"$PY" "$here/results.py" "${args[@]}" | tee "$out/summary.txt" || rc=$?
if [[ "${server_rc:-0}" != 0 ]]; then
  echo "FAILED: monostack did not shut down cleanly" >&2
  rc=1
fi
exit "$rc"
