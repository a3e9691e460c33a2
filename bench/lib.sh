# bench/lib.sh — what every benchmark script shares: a throw-away monostack on a free loopback
# port (fresh data dir under $TMPDIR, random admin password, no ~/.config/openstack/clouds.yaml),
# stopped by its PID on any exit, the server's memory figures, and an admin token.
# Source it after setting BIN; it sets TMP, PASSWORD, BASE, PORT, SERVER_PID, SERVER_CMD, TOKEN.
#
#   bench_init NAME            make $TMP (monostack-bench-NAME.XXXXXX) and the exit trap
#   bench_start [ARGS...]      start `$BIN up` with extra ARGS (e.g. --config FILE); exits 2 when
#                              it does not answer on /identity/v3 within 60 s
#   bench_token                an admin project token into $TOKEN (retries the 401s of a server
#                              still bootstrapping; exits 2 on failure)
#   bench_rss                  "VmRSS N kB, VmHWM N kB" of the server
#   bench_stop                 SIGTERM, then SIGKILL after 10 s

die() { echo "bench: $*" >&2; exit 2; }

SERVER_PID=
TOKEN=
bench_stop() {
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "bench: server $SERVER_PID ignored SIGTERM for 10 s: SIGKILL" >&2
			kill -KILL "$SERVER_PID" 2>/dev/null || true
		fi
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=
}

bench_cleanup() {
	bench_stop
	[[ -z ${TMP:-} ]] || rm -rf -- "$TMP"
}

bench_init() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/monostack-bench-$1.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# A random alphanumeric password (JSON- and shell-safe).
	PASSWORD=$(head -c 64 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 24)
	[[ ${#PASSWORD} -ge 16 ]] || die "could not generate a password"
}

# A random loopback port in 20000-49999 that nothing answers on; a bind that fails anyway
# ("in use" in the log) is retried on another port.
bench_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

bench_start_on() {
	local port=$1; shift
	BASE=http://127.0.0.1:$port
	SERVER_CMD=("$BIN" up --data-dir "$TMP/data" --bind "127.0.0.1:$port" --admin-password "$PASSWORD"
		--no-user-config "$@")
	"${SERVER_CMD[@]}" >"$TMP/server.log" 2>&1 &
	SERVER_PID=$!
	local code
	for _ in $(seq 600); do
		kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; return 1; }
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/identity/v3" || true)
		[[ $code == 200 ]] && return 0
		sleep 0.1
	done
	echo "bench: server did not answer 200 on $BASE/identity/v3 within 60 s (last: $code)" >&2
	return 1
}

bench_start() {
	local started=
	for _ in 1 2 3 4 5; do
		PORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
		bench_port_free "$PORT" || continue
		if bench_start_on "$PORT" "$@"; then
			started=1
			break
		fi
		[[ -z $SERVER_PID ]] || break           # running but not ready: don't try another port
		grep -qi 'in use' "$TMP/server.log" || break
		rm -rf -- "$TMP/data"
	done
	if [[ -z $started ]]; then
		echo "bench: the server failed to start; its log:" >&2
		tail -n 40 "$TMP/server.log" >&2 || true
		exit 2
	fi
}

bench_rss() { awk '/^VmRSS:/ { r = $2 " " $3 } /^VmHWM:/ { h = $2 " " $3 } END { printf "VmRSS %s, VmHWM %s", r, h }' "/proc/$SERVER_PID/status"; }

# The listener may answer before a first start has created the admin user, so a 401 is
# retried for up to 30 s. BENCH_EARLY_401 counts those retries; BENCH_AUTH_BODY is the request.
bench_token() {
	local code
	BENCH_AUTH_BODY=$(printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"%s"}}},"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}' "$PASSWORD")
	BENCH_EARLY_401=0
	for _ in $(seq 150); do
		code=$(curl -sS -o "$TMP/token.json" -D "$TMP/token.hdr" -w '%{http_code}' --max-time 30 \
			-H 'Content-Type: application/json' -d "$BENCH_AUTH_BODY" "$BASE/identity/v3/auth/tokens" || true)
		[[ $code == 401 ]] || break
		BENCH_EARLY_401=$((BENCH_EARLY_401 + 1))
		sleep 0.2
	done
	TOKEN=$(awk 'tolower($1) == "x-subject-token:" { sub(/\r$/, "", $2); print $2 }' "$TMP/token.hdr")
	if [[ $code != 201 || -z $TOKEN ]]; then
		echo "bench: token issue answered $code (X-Subject-Token $([[ -n $TOKEN ]] && echo present || echo missing)):" >&2
		head -c 2000 "$TMP/token.json" >&2; echo >&2
		echo "bench: the tail of the server log:" >&2
		tail -n 20 "$TMP/server.log" >&2 || true
		exit 2
	fi
}
