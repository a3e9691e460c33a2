#!/usr/bin/env bash
# scripts/pg.sh — a throwaway PostgreSQL 15 cluster for tests.
#
# Usage:
#   scripts/pg.sh start DIR   create a cluster in DIR/pg (or reuse the one made there before),
#                             start it on 127.0.0.1 and a free port, create database
#                             "monostack", and print its URL
#                             (postgresql://postgres@127.0.0.1:PORT/monostack) as the only
#                             line on stdout. Everything else goes to stderr / DIR/pg/log.
#   scripts/pg.sh stop DIR    stop it (pg_ctl stop -m fast, by its pid file). No-op if not running.
#   scripts/pg.sh url DIR     print the URL of a started cluster.
#
# The server refuses to run as root, so as root the PostgreSQL binaries run as the `postgres`
# user (runuser) and DIR/pg is chowned to it. Auth is `trust` for 127.0.0.1 and the unix socket
# (which lives in DIR/pg, not /var/run). PG_FAST=1 turns off fsync/synchronous_commit.
# Nothing is deleted: remove DIR yourself after `stop`.
set -euo pipefail

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
DBNAME=monostack

die() { echo "pg.sh: $*" >&2; exit 1; }

# Run a PostgreSQL binary as the postgres user when we are root, as ourselves otherwise.
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

free_port() {
  /usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cmd="${1:-}"; dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || { sed -n '2,16p' "$0" >&2; exit 2; }
pgdir="$(realpath -m "$dir")/pg"
data="$pgdir/data"

start() {
  [[ -x "$PGBIN/initdb" ]] || die "$PGBIN/initdb not found (apt-get install postgresql)"
  [[ ! -e "$data/postmaster.pid" ]] || die "already running in $pgdir (stop it first)"
  mkdir -p "$pgdir"
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres: "$pgdir"
    # postgres must be able to traverse every parent directory (mktemp -d makes 0700 dirs).
    local d="$pgdir"
    while d="$(dirname "$d")"; [[ "$d" != / ]]; do
      runuser -u postgres -- test -x "$d" 2>/dev/null || chmod o+x "$d"
    done
  fi

  local fresh=0
  if [[ ! -e "$data/PG_VERSION" ]]; then
    fresh=1
    as_pg "$PGBIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=trust --no-sync >"$pgdir/initdb.log" 2>&1 \
      || { cat "$pgdir/initdb.log" >&2; die "initdb failed"; }
    # Only loopback TCP (IPv4) and the private unix socket.
    as_pg tee "$data/pg_hba.conf" >/dev/null <<HBA
local all all trust
host  all all 127.0.0.1/32 trust
HBA
  fi

  # The free port is picked before the server binds it: retry a few times on a lost race.
  local port tries=0
  while :; do
    port="$(free_port)"
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "unix_socket_directories = '$pgdir'"
      echo "max_connections = 100"
      if [[ "${PG_FAST:-0}" == 1 ]]; then
        echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
      fi
    } | as_pg tee "$data/postgresql.auto.conf" >/dev/null
    if as_pg "$PGBIN/pg_ctl" -D "$data" -l "$pgdir/log" -s -w -t 60 start >&2; then
      break
    fi
    tries=$((tries + 1))
    ((tries < 3)) || { tail -n 20 "$pgdir/log" >&2 || true; die "pg_ctl start failed"; }
  done

  if ((fresh)); then
    as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DBNAME" >&2 \
      || { stop; die "createdb failed"; }
  fi
  echo "$port" >"$pgdir/port"
  echo "postgresql://postgres@127.0.0.1:$port/$DBNAME" | tee "$pgdir/url"
}

stop() {
  [[ -e "$data/postmaster.pid" ]] || return 0
  if ! as_pg "$PGBIN/pg_ctl" -D "$data" -s -w -t 30 stop -m fast >&2; then
    # Fall back to the pid file: the first line is the postmaster's pid.
    local pid
    pid="$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      sleep 2
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
  fi
}

case "$cmd" in
  start) start ;;
  stop)  stop ;;
  url)   [[ -e "$pgdir/url" ]] || die "no cluster in $pgdir"; cat "$pgdir/url" ;;
  *)     die "unknown command '$cmd' (start|stop|url)" ;;
esac
