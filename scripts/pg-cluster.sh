#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests, from the distribution's packages:
#
#   scripts/pg-cluster.sh start DIR   initdb in DIR (made if missing), start on a free port of
#                                     127.0.0.1; prints the superuser's URL (also in DIR/url)
#   scripts/pg-cluster.sh stop DIR    stop it and delete DIR
#   scripts/pg-cluster.sh pause DIR   stop it, keeping its data (a server that went away)
#   scripts/pg-cluster.sh resume DIR  start it again on the same port
#
# PostgreSQL refuses to run as root and CI runs as root: then the server runs as the `postgres`
# user the package created (or `nobody`), and DIR is handed to it. It listens on loopback only,
# with its socket in DIR, and asks for a password over TCP (scram-sha-256), as a school's server
# would: the tests of a wrong password need one to be asked for.
set -euo pipefail

die() { echo "pg-cluster: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 start|stop|pause|resume DIR"
cmd="$1"
dir="$2"

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  [ -x "$d/initdb" ] && { bindir="$d"; break; }
done
[ -n "$bindir" ] || die "no PostgreSQL server found in /usr/lib/postgresql: run scripts/setup.sh (it installs the postgresql package)"

as_server() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$server_user" -- "$@"
  else
    "$@"
  fi
}
server_user="$(id -un)"
if [ "$(id -u)" -eq 0 ]; then
  if id postgres >/dev/null 2>&1; then server_user=postgres; else server_user=nobody; fi
fi

start_server() {
  as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" start >/dev/null \
    || { cat "$dir/server.log" >&2; die "the server did not start"; }
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    [ ! -e "$dir/data" ] || die "$dir/data already exists: stop that server first ($0 stop $dir)"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    printf '%s\n' "$password" > "$dir/pwfile"
    if [ "$(id -u)" -eq 0 ]; then
      chown -R "$server_user" "$dir"
      runuser -u "$server_user" -- test -w "$dir" \
        || die "the server's user $server_user cannot reach $dir: give a folder whose parents it may enter (chmod o+x)"
    fi
    chmod 700 "$dir"
    as_server "$bindir/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$dir/pwfile"
    printf '%s\n' "$port" > "$dir/port"
    start_server
    url="postgres://postgres:$password@127.0.0.1:$port/postgres"
    printf '%s\n' "$url" > "$dir/url"
    echo "$url"
    ;;
  stop)
    [ -d "$dir/data" ] || exit 0
    as_server "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  pause)
    [ -d "$dir/data" ] || die "no server in $dir"
    as_server "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    [ -d "$dir/data" ] || die "no server in $dir"
    dir="$(cd "$dir" && pwd)"
    start_server
    ;;
  *)
    die "usage: $0 start|stop|pause|resume DIR"
    ;;
esac
