#!/usr/bin/env bash
# A throwaway PostgreSQL server for one test run (a CTest fixture; see tests/CMakeLists.txt):
#   postgres_cluster.sh start STATE_DIR   initdb into a new temporary directory, start the
#                                         server there, write STATE_DIR/host (its socket
#                                         directory) for the tests
#   postgres_cluster.sh stop STATE_DIR    stop it and remove its directory
# Test runs of one build at the same time share the server: start and stop count its users
# (under a lock), and the last one stops it.
# PostgreSQL refuses to run as root: as root (CI), the server runs as the user nobody. It
# listens on a Unix socket in its own directory only (no TCP port to collide with), trusts
# local connections as the user "uh", and skips fsync: its data lives only for the run.
set -euo pipefail
action=${1:?usage: postgres_cluster.sh start|stop STATE_DIR}
state=${2:?usage: postgres_cluster.sh start|stop STATE_DIR}

find_bindir() {
  local dir
  dir=$(pg_config --bindir 2>/dev/null || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
    return 0
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  echo "error: no PostgreSQL server found (initdb, pg_ctl); scripts/deps.sh installs Debian's postgresql" >&2
  return 1
}

# Runs a command as the server's owner: nobody when we are root, else ourselves. Without the
# lock's descriptor: the server would hold the lock for as long as it runs.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env "$@") 9>&-
  else
    "$@" 9>&-
  fi
}

stop_server() {
  [ -f "$state/dir" ] || return 0
  local dir bindir
  dir=$(cat "$state/dir")
  bindir=$(find_bindir) || true
  if [ -n "${bindir:-}" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  case "$dir" in /tmp/uh-pg.*) rm -rf "$dir" ;; esac
  rm -f "$state/dir" "$state/host"
}

start_server() {
  bindir=$(find_bindir)
  dir=$(mktemp -d /tmp/uh-pg.XXXXXX)
  echo "$dir" >"$state/dir"
  chmod 700 "$dir"
  [ "$(id -u)" -ne 0 ] || chown nobody:nogroup "$dir"
  if ! as_owner "$bindir/initdb" -D "$dir/data" -U uh -A trust -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    exit 1
  fi
  if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c dynamic_shared_memory_type=mmap" \
    start >/dev/null; then
    cat "$dir/server.log" >&2 || true
    exit 1
  fi
  echo "$dir" >"$state/host"
  echo "PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') for the tests: socket in $dir" >&2
}

running() {
  [ -f "$state/host" ] || return 1
  local bindir dir
  bindir=$(find_bindir) || return 1
  dir=$(cat "$state/host")
  as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

mkdir -p "$state"
exec 9>"$state/lock"
flock 9
users=$(cat "$state/users" 2>/dev/null || echo 0)
case "$action" in
  start)
    if running; then
      echo "PostgreSQL for the tests: already running, socket in $(cat "$state/host")" >&2
    else
      stop_server  # one left by an interrupted run
      start_server
      users=0
    fi
    echo $((users + 1)) >"$state/users"
    ;;
  stop)
    users=$((users - 1))
    if [ "$users" -le 0 ]; then
      stop_server
      users=0
    fi
    echo "$users" >"$state/users"
    ;;
  *)
    echo "usage: postgres_cluster.sh start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
