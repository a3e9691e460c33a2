#!/usr/bin/env bash
# bench/identity/run.sh — throughput and latency of the Keystone v3 API of monostack (`make bench`).
#
# Starts a throw-away cloud (fresh data dir under /tmp, random admin password, free loopback
# port, no ~/.config/openstack/clouds.yaml) from ./build/monostack, gets an admin
# project-scoped token with curl, then runs wrk (2 threads, --latency) against it on loopback
# for each operation at 8 and 32 connections:
#   token-validate  GET  /identity/v3/auth/tokens   X-Auth-Token + X-Subject-Token = admin token
#   token-issue     POST /identity/v3/auth/tokens   password method (bench/identity/token_issue.lua)
#   project-list    GET  /identity/v3/projects      X-Auth-Token = admin token
# Every run uses bench/identity/status.lua, whose response hook counts non-2xx statuses; those
# and wrk's socket errors (connect/read/write/timeout) are the "errors" column. It prints a
# Markdown table (requests/s, p50, p99, errors), the server's VmRSS/VmHWM from /proc/PID/status
# after start and after the runs, and the exact commands. The server is stopped by its PID
# (SIGTERM, then SIGKILL after 10 s) on any exit; nothing else is signalled.
# Exit status: 0 when every run was error-free, 1 when any run saw errors, 2 on set-up failure.
#
# Token issue is bound by bcrypt: every POST checks the admin password against its hash, whose
# cost is [identity] password_hash_rounds (default 10, i.e. 2^10 Blowfish rounds: ~65 ms of
# one core per request here, ~31 requests/s on 2 idle cores). The admin password is hashed
# once, at the first start, with the cost in force then, so BENCH_HASH_ROUNDS writes a config
# file with [identity] password_hash_rounds=N that is passed to the server with --config from
# its first start.
# wrk and the server share this machine's cores, so the figures are for both together.
#
# Environment:
#   MONOSTACK_BIN      server binary (default ./build/monostack, relative to the repo root)
#   BENCH_DURATION     seconds per wrk run (default 10)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_CONCURRENCY  space-separated wrk connection counts (default "8 32")
#   BENCH_TIMEOUT      wrk per-request timeout (default 10s; wrk's own 2s is too short for
#                      token issue at 32 connections)
#   BENCH_HASH_ROUNDS  bcrypt cost for the server (unset: the server default, 10)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
HERE=bench/identity

BIN=${MONOSTACK_BIN:-./build/monostack}
DURATION=${BENCH_DURATION:-10}
THREADS=${BENCH_THREADS:-2}
CONCURRENCY=${BENCH_CONCURRENCY:-8 32}
TIMEOUT=${BENCH_TIMEOUT:-10s}
HASH_ROUNDS=${BENCH_HASH_ROUNDS:-}

. bench/lib.sh

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION must be a positive integer (got '$DURATION')"
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "BENCH_THREADS must be a positive integer (got '$THREADS')"
for c in $CONCURRENCY; do
	[[ $c =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONCURRENCY must hold positive integers (got '$c')"
	(( c >= THREADS )) || die "wrk needs at least as many connections as threads ($c < $THREADS)"
done
[[ -z $HASH_ROUNDS || $HASH_ROUNDS =~ ^[0-9]+$ ]] || die "BENCH_HASH_ROUNDS must be an integer"
[[ -x $BIN ]] || die "$BIN is not an executable: build it with make (or set MONOSTACK_BIN)"
command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
if ! command -v wrk >/dev/null; then
	[[ $(id -u) -eq 0 ]] || die "wrk is missing: apt-get install wrk (as root)"
	echo "bench: installing wrk" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q wrk >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; } ||
		die "apt-get install wrk failed"
fi

# --- the server -------------------------------------------------------------------------------
bench_init identity
CONFIG_ARGS=()
if [[ -n $HASH_ROUNDS ]]; then
	printf '[identity]\npassword_hash_rounds = %s\n' "$HASH_ROUNDS" >"$TMP/bench.conf"
	CONFIG_ARGS=(--config "$TMP/bench.conf")
fi
bench_start "${CONFIG_ARGS[@]}"
rss() { bench_rss; }

# --- the admin token -------------------------------------------------------------------------
bench_token
if (( BENCH_EARLY_401 > 0 )); then
	echo "bench: note: token issue answered 401 $BENCH_EARLY_401 time(s) after GET /identity/v3 was already 200 (server still bootstrapping)" >&2
fi
# "After start": bootstrap done and one password check made.
RSS_START=$(rss)

# One request of each kind first, so that a broken endpoint shows its body, not just a count.
precheck() {
	local name=$1; shift
	local c
	c=$(curl -s -o "$TMP/pre.out" -w '%{http_code}' --max-time 30 "$@" || true)
	if [[ $c != 2?? ]]; then
		echo "bench: warning: $name answered $c before the runs:" >&2
		head -c 1000 "$TMP/pre.out" >&2; echo >&2
	fi
}
precheck token-validate -H "X-Auth-Token: $TOKEN" -H "X-Subject-Token: $TOKEN" "$BASE/identity/v3/auth/tokens"
precheck token-issue -H 'Content-Type: application/json' -d "$BENCH_AUTH_BODY" "$BASE/identity/v3/auth/tokens"
precheck project-list -H "X-Auth-Token: $TOKEN" "$BASE/identity/v3/projects"

# --- the runs --------------------------------------------------------------------------------
# A command as it can be pasted into a shell, the secrets replaced by the variables naming them.
show_cmd() {
	local out=() a q="'"
	for a in "$@"; do
		if [[ -n $TOKEN && $a == *"$TOKEN"* ]] || [[ $a == *"$PASSWORD"* ]]; then
			a=${a//\\/\\\\}; a=${a//\"/\\\"}; a=${a//\`/\\\`}; a=${a//\$/\\\$}
			[[ -n $TOKEN ]] && a=${a//"$TOKEN"/\$TOKEN}
			a=${a//"$PASSWORD"/\$ADMIN_PASSWORD}
			out+=("\"$a\"")
		elif [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			out+=("$a")
		else
			a=${a//"$q"/"$q\\$q$q"}
			out+=("$q$a$q")
		fi
	done
	echo "${out[*]}"
}

fmt_ms() { awk -v us="$1" 'BEGIN { if (us < 10000) printf "%.2f ms", us / 1000; else printf "%.0f ms", us / 1000 }'; }

ROWS=()
COMMANDS=()
RAW=()
FAILED=0
run() {   # run NAME CONNECTIONS URL [wrk args...] [-- script args]
	local name=$1 conns=$2 url=$3; shift 3
	local pre=() post=() seen=
	for a in "$@"; do
		if [[ -n $seen ]]; then post+=("$a"); elif [[ $a == -- ]]; then seen=1; else pre+=("$a"); fi
	done
	local cmd=(wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --timeout "$TIMEOUT" --latency "${pre[@]}" "$url")
	(( ${#post[@]} )) && cmd+=(-- "${post[@]}")
	local out
	if ! out=$("${cmd[@]}" 2>&1); then
		out+=$'\n'"(wrk exited with an error)"
	fi
	COMMANDS+=("$(show_cmd "${cmd[@]}")")
	RAW+=("### $name, $conns connections"$'\n'"$out")
	local line
	line=$(grep '^BENCH_RESULT ' <<<"$out" | tail -n 1 || true)
	if [[ -z $line ]]; then
		ROWS+=("| $name | $conns | wrk failed | - | - | see raw output |")
		FAILED=1
		return
	fi
	local requests= rps= p50= p99= non2xx= sc= sr= sw= st= statuses=
	for kv in ${line#BENCH_RESULT }; do
		case $kv in
			requests=*) requests=${kv#*=} ;;
			rps=*) rps=${kv#*=} ;;
			p50_us=*) p50=${kv#*=} ;;
			p99_us=*) p99=${kv#*=} ;;
			non2xx=*) non2xx=${kv#*=} ;;
			sock_connect=*) sc=${kv#*=} ;;
			sock_read=*) sr=${kv#*=} ;;
			sock_write=*) sw=${kv#*=} ;;
			sock_timeout=*) st=${kv#*=} ;;
			statuses=*) statuses=${kv#*=} ;;
		esac
	done
	local errs=()
	(( non2xx > 0 )) && errs+=("$non2xx non-2xx ($statuses)")
	(( sc > 0 )) && errs+=("$sc connect")
	(( sr > 0 )) && errs+=("$sr read")
	(( sw > 0 )) && errs+=("$sw write")
	(( st > 0 )) && errs+=("$st timeout")
	(( requests > 0 )) || errs+=("no request completed")
	local err_text=0
	if (( ${#errs[@]} )); then
		err_text=$(IFS=';'; echo "${errs[*]}" | sed 's/;/, /g')
		FAILED=1
	fi
	if ! kill -0 "$SERVER_PID" 2>/dev/null; then
		err_text+=", server exited"
		FAILED=1
	fi
	ROWS+=("| $name | $conns | $(printf '%.0f' "$rps") | $(fmt_ms "$p50") | $(fmt_ms "$p99") | $err_text |")
}

LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
V3=$BASE/identity/v3
for c in $CONCURRENCY; do
	kill -0 "$SERVER_PID" 2>/dev/null || break
	run token-validate "$c" "$V3/auth/tokens" -s "$HERE/status.lua" \
		-H "X-Auth-Token: $TOKEN" -H "X-Subject-Token: $TOKEN"
done
for c in $CONCURRENCY; do
	kill -0 "$SERVER_PID" 2>/dev/null || break
	run token-issue "$c" "$V3/auth/tokens" -s "$HERE/token_issue.lua" -- "$PASSWORD"
done
for c in $CONCURRENCY; do
	kill -0 "$SERVER_PID" 2>/dev/null || break
	run project-list "$c" "$V3/projects" -s "$HERE/status.lua" -H "X-Auth-Token: $TOKEN"
done

LOAD_AFTER=$(cut -d" " -f1-3 /proc/loadavg)
SERVER_ALIVE=yes
if kill -0 "$SERVER_PID" 2>/dev/null; then
	RSS_END=$(rss)
else
	SERVER_ALIVE=no
	RSS_END="(server gone)"
	FAILED=1
fi

# --- the report ------------------------------------------------------------------------------
rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] && rev+=" (with uncommitted changes)"
cat <<EOF
## Identity benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')

- monostack: $("$BIN" version 2>/dev/null || echo '?'), commit $rev; bcrypt cost (password_hash_rounds): ${HASH_ROUNDS:-10 (server default)}
- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr); wrk and the server share them
- wrk: $(wrk -v 2>&1 | head -n 1 | awk '{ print $2 }'), $THREADS threads, ${DURATION} s per run, timeout $TIMEOUT, loopback
- load average (1, 5, 15 min) before the runs: $LOAD_BEFORE; after: $LOAD_AFTER (other work on the machine skews the figures)

| operation | concurrency | requests/s | p50 latency | p99 latency | errors |
| --- | ---: | ---: | ---: | ---: | --- |
EOF
printf '%s\n' "${ROWS[@]}"
cat <<EOF

- server RSS after start (/proc/$SERVER_PID/status): $RSS_START
- server RSS after the runs: $RSS_END

Commands (ADMIN_PASSWORD is random per run; TOKEN is the X-Subject-Token of the POST below):

\`\`\`
$(show_cmd "${SERVER_CMD[@]}")${HASH_ROUNDS:+   # $TMP/bench.conf: [identity] password_hash_rounds = $HASH_ROUNDS}
$(show_cmd curl -si -H "Content-Type: application/json" -d "$BENCH_AUTH_BODY" "$V3/auth/tokens")
EOF
printf '%s\n' "${COMMANDS[@]}"
echo '```'
echo
echo "Raw wrk output:"
echo
echo '```'
printf '%s\n\n' "${RAW[@]}"
echo '```'

if [[ $SERVER_ALIVE == no ]]; then
	echo "bench: the server exited during the runs; the tail of its log:" >&2
	tail -n 40 "$TMP/server.log" >&2 || true
fi
if (( FAILED )); then
	echo "bench: some runs saw errors (see the errors column)" >&2
	exit 1
fi
