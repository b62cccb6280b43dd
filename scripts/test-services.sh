#!/usr/bin/env bash
# Installs and starts what the tests use for real, on loopback only:
# haproxy, ansible-core, openssh-server (sshd, started by the tests themselves), pebble (with
# pebble-challtestsrv) and lego (the tests start their own on random ports) and a private MariaDB server (its own data directory and
# port, so a system MariaDB, if any, is left alone). Idempotent: a second run
# finds everything in place and returns at once.
# Writes .test-results/services.env, which the tests read.
set -euo pipefail
cd "$(dirname "$0")/.."

MARIADB_PORT=${TEST_MARIADB_PORT:-33306}
MARIADB_DIR=${TEST_MARIADB_DIR:-/tmp/openedx-im-test-mariadb}
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"

missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v ansible-playbook >/dev/null 2>&1 || missing+=(ansible-core)
command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
# The provisioning wrapper's SSH tests start their own sshd on loopback (host key pinning, the wrapper's ssh-agent).
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
command -v lego >/dev/null 2>&1 || missing+=(lego)
if ((${#missing[@]})); then
  echo "test-services: installing ${missing[*]} from Debian" >&2
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p .test-results
socket="$MARIADB_DIR/mariadb.sock"
if ! mariadb-admin --socket="$socket" -uroot ping >/dev/null 2>&1; then
  if [[ ! -d "$MARIADB_DIR/data/mysql" ]]; then
    mkdir -p "$MARIADB_DIR/data"
    chown -R mysql:mysql "$MARIADB_DIR" 2>/dev/null || true
    mariadb-install-db --user=mysql --datadir="$MARIADB_DIR/data" --auth-root-authentication-method=socket \
      --skip-test-db >"$MARIADB_DIR/install.log" 2>&1
  fi
  # Started detached from this shell so that it outlives the test command's own process group.
  setsid mariadbd --user=mysql --datadir="$MARIADB_DIR/data" --socket="$socket" \
    --bind-address=127.0.0.1 --port="$MARIADB_PORT" --skip-name-resolve \
    --pid-file="$MARIADB_DIR/mariadb.pid" --log-error="$MARIADB_DIR/error.log" </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 60); do
    mariadb-admin --socket="$socket" -uroot ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb-admin --socket="$socket" -uroot ping >/dev/null 2>&1 || {
    echo "test-services: MariaDB did not start; see $MARIADB_DIR/error.log" >&2
    tail -n 20 "$MARIADB_DIR/error.log" >&2 || true
    exit 1
  }
fi

# An admin account reachable over TCP, as the audit tool and the tests use it.
admin_password=$(cat "$MARIADB_DIR/admin-password" 2>/dev/null || true)
if [[ -z $admin_password ]]; then
  admin_password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
  echo "$admin_password" >"$MARIADB_DIR/admin-password"
  chmod 600 "$MARIADB_DIR/admin-password"
fi
mariadb --socket="$socket" -uroot <<SQL
CREATE USER IF NOT EXISTS 'im_admin'@'127.0.0.1' IDENTIFIED BY '${admin_password}';
ALTER USER 'im_admin'@'127.0.0.1' IDENTIFIED BY '${admin_password}';
GRANT ALL PRIVILEGES ON *.* TO 'im_admin'@'127.0.0.1' WITH GRANT OPTION;
SQL

umask 077
cat >.test-results/services.env <<ENV
TEST_MYSQL_URL=mysql://im_admin:${admin_password}@127.0.0.1:${MARIADB_PORT}/
TEST_MARIADB_SOCKET=${socket}
ENV
# The whole output is read, then its first line taken: `| head -n1` closes the pipe early and
# ansible-playbook (Python) dies on the write with a BrokenPipeError traceback.
first_line() { local text; text=$("$@" 2>&1) || true; printf '%s' "${text%%$'\n'*}"; }
haproxy_version=$(first_line haproxy -v)
echo "test-services: haproxy $(awk '{print $3}' <<<"$haproxy_version"), $(first_line ansible-playbook --version), MariaDB on 127.0.0.1:${MARIADB_PORT}" >&2
