#!/usr/bin/env bash
# Installs, starts and checks everything the test suite needs beyond Go, on
# Debian 12 or an Ubuntu LTS release with nothing but Go installed:
#   gcc and the C library headers   go test -race needs cgo
#   swaks with its TLS and SASL Perl modules (a real SMTP client)
#   Chromium                        console tests, headless
#   PostgreSQL                      the scale-out store, on 127.0.0.1:5432
#   smtp-source (from Postfix)      a pipelining load client
#   systemd-analyze                 checks deploy/egressguard.service
#   git, ca-certificates, procps    go build and module downloads
#   tzdata                          named time zones (Asia/Tokyo)
# Then it checks that each of them works and stops with a message naming
# what does not. Run it as root (without root it only checks, and stops
# if something must be installed or started); running it again changes
# nothing.
# Afterwards `go test -race -shuffle=on ./...` finds PostgreSQL at
# $EGRESSGUARD_TEST_POSTGRES or at the default below.
#
# --install-only installs the packages and stops: no PostgreSQL is started
# and nothing is checked (scripts/fresh-machine-check.sh installs with the
# network, then runs the tests without it).
set -euo pipefail

install_only=
case "${1:-}" in
  --install-only) install_only=1 ;;
  "") ;;
  *) echo "usage: $0 [--install-only]" >&2; exit 2 ;;
esac

dsn_default="postgres://egressguard:egressguard@127.0.0.1:5432/egressguard_test?sslmode=disable"
pgdata=${EGRESSGUARD_PGDATA:-/var/lib/egressguard-test-pg}
tools=${EGRESSGUARD_TEST_TOOLS:-/opt/egressguard-test}

say() { echo "test-deps: $*"; }
die() {
  echo "test-deps: FAILED: $*" >&2
  exit 1
}

# Root is needed only to change the machine.
need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root: sudo $0"
}
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian 12 and Ubuntu LTS"
command -v go >/dev/null || die "go not found on PATH (install Go from https://go.dev/dl/ and add /usr/local/go/bin to PATH)"
. /etc/os-release
say "on ${PRETTY_NAME:-unknown system}"

export DEBIAN_FRONTEND=noninteractive
updated=
apt_update() {
  if [ -z "$updated" ]; then
    apt-get update -qq || die "apt-get update failed (network, or the sources in /etc/apt)"
    updated=1
  fi
}
# Installs the packages that are not installed yet.
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "installing ${missing[*]}"
  apt_update
  say "installing ${missing[*]}"
  # Without recommends, so everything the tests need is named here
  # (swaks' TLS modules are only recommended, gcc's libc6-dev too).
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
}

# --- Packages -------------------------------------------------------------
apt_install ca-certificates git procps tzdata gcc libc6-dev \
  swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl \
  postgresql postgresql-client util-linux systemd fonts-dejavu-core

# Chromium: a real package on Debian; on Ubuntu "chromium" is only a
# wrapper around a snap, which does not run without snapd (containers,
# chroots). There Google's Chrome package stands in (the tests accept
# chromium, chromium-browser or google-chrome).
chrome=
for c in chromium chromium-browser google-chrome; do
  p=$(command -v "$c") || continue
  case $(readlink -f "$p") in /snap/*) continue ;; esac
  grep -qs snap "$p" && continue # Ubuntu's wrapper that installs the snap
  chrome=$p
  break
done
if [ -z "$chrome" ]; then
  apt_update
  if apt-cache policy chromium 2>/dev/null | grep -q 'Candidate:.*snap' || ! apt-cache show chromium >/dev/null 2>&1; then
    [ "$(dpkg --print-architecture)" = amd64 ] ||
      die "no Chromium package without snap for $(dpkg --print-architecture); install Chromium or Chrome by hand"
    need_root "installing Chrome"
    say "chromium is a snap here; installing google-chrome-stable from Google's apt repository"
    apt_install curl gnupg
    install -d -m 0755 /etc/apt/keyrings
    curl -fsSL https://dl.google.com/linux/linux_signing_key.pub | gpg --dearmor --yes -o /etc/apt/keyrings/google-chrome.gpg
    echo "deb [arch=amd64 signed-by=/etc/apt/keyrings/google-chrome.gpg] https://dl.google.com/linux/chrome/deb/ stable main" >/etc/apt/sources.list.d/google-chrome.list
    updated=
    apt_update
    apt_install google-chrome-stable
    chrome=$(command -v google-chrome) || die "google-chrome not on PATH after installing it"
  else
    apt_install chromium
    chrome=$(command -v chromium) || die "chromium not on PATH after installing it"
  fi
fi

# smtp-source comes with Postfix, but installing Postfix would replace the
# machine's mail server (and start one). Its binary is taken out of the
# package instead, with the libraries it needs, into $tools.
if ! command -v smtp-source >/dev/null; then
  need_root "installing smtp-source"
  if [ -x /usr/sbin/smtp-source ]; then
    ln -sf /usr/sbin/smtp-source /usr/local/bin/smtp-source
  else
    apt_update
    # Postfix's library dependencies (names differ between releases).
    mapfile -t libs < <(apt-cache depends postfix | awk '$1 == "Depends:" && $2 ~ /^lib/ {print $2}' | sort -u)
    apt_install "${libs[@]}"
    tmp=$(mktemp -d)
    chmod 0755 "$tmp"
    (cd "$tmp" && apt-get download -qq postfix 2>/dev/null) || die "apt-get download postfix failed"
    rm -rf "$tools/postfix"
    install -d "$tools/postfix"
    dpkg-deb -x "$tmp"/postfix_*.deb "$tools/postfix"
    rm -rf "$tmp"
    cat >/usr/local/bin/smtp-source <<EOF
#!/bin/sh
# Postfix's smtp-source, unpacked by egressguard's scripts/test-deps.sh.
LD_LIBRARY_PATH=$tools/postfix/usr/lib/postfix exec $tools/postfix/usr/sbin/smtp-source "\$@"
EOF
    chmod 0755 /usr/local/bin/smtp-source
  fi
fi

if [ -n "$install_only" ]; then
  say "packages installed (--install-only: PostgreSQL not started, nothing checked)"
  exit 0
fi

# --- PostgreSQL on 127.0.0.1:5432 -----------------------------------------
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] && [ -x "$pgbin/postgres" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
id postgres >/dev/null 2>&1 || die "the postgres user does not exist (the postgresql package creates it)"
# Runs a command as the postgres user. runuser needs no PAM login and
# passes the arguments as they are; su (with an explicit shell, whatever
# the account's) is the fallback.
as_postgres() {
  if command -v runuser >/dev/null; then
    runuser -u postgres -- "$@"
  elif command -v setpriv >/dev/null; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
  fi
}
dsn=${EGRESSGUARD_TEST_POSTGRES:-$dsn_default}
if "$pgbin/psql" -X "$dsn" -tAc "SELECT 1" 2>/dev/null | grep -q 1; then
  ready=1 # the test database answers: nothing to start or create
else
  ready=
  need_root "starting PostgreSQL and creating the test database"
  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
fi
if [ -z "$ready" ] && ! "$pgbin/pg_isready" -q -h 127.0.0.1 -p 5432; then
  # Nothing answers: run a cluster of our own (a packaged cluster that is
  # merely stopped stays untouched).
  if [ ! -s "$pgdata/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $pgdata"
    install -d -o postgres -g postgres -m 0700 "$pgdata"
    as_postgres "$pgbin/initdb" -D "$pgdata" -A trust -U postgres -E UTF8 >/dev/null
  fi
  # A pid file left by a machine or chroot that went away blocks the start.
  if [ -f "$pgdata/postmaster.pid" ]; then
    pid=$(head -n 1 "$pgdata/postmaster.pid")
    if ! ps -p "$pid" -o comm= 2>/dev/null | grep -q postgres; then
      say "removing a stale $pgdata/postmaster.pid"
      rm -f "$pgdata/postmaster.pid"
    fi
  fi
  say "starting PostgreSQL on 127.0.0.1:5432"
  as_postgres "$pgbin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p 5432 -c unix_socket_directories=/var/run/postgresql -c fsync=on" start >/dev/null ||
    die "PostgreSQL did not start; see $pgdata/server.log"
fi
# As the superuser: over TCP where trust applies (our own cluster), else
# through the local socket as the postgres user (a packaged cluster).
admin() {
  "$pgbin/psql" -X -h 127.0.0.1 -p 5432 -U postgres -w "$@" 2>/dev/null ||
    as_postgres "$pgbin/psql" -X -p 5432 -h /var/run/postgresql "$@"
}
if [ -z "$ready" ]; then
  admin -tAc "SELECT 1 FROM pg_roles WHERE rolname='egressguard'" | grep -q 1 ||
    admin -qc "CREATE ROLE egressguard LOGIN PASSWORD 'egressguard' CREATEDB" ||
    die "cannot create the role egressguard as the PostgreSQL superuser (neither over 127.0.0.1 nor as the postgres user through /var/run/postgresql)"
  admin -tAc "SELECT 1 FROM pg_database WHERE datname='egressguard_test'" | grep -q 1 ||
    admin -qc "CREATE DATABASE egressguard_test OWNER egressguard" ||
    die "cannot create the database egressguard_test"
fi

# --- Checks: each tool really works --------------------------------------
"$pgbin/psql" -X "$dsn" -tAc "SELECT 1" 2>/dev/null | grep -q 1 ||
  die "PostgreSQL does not answer at $dsn"
say "ok: PostgreSQL answers at $dsn"

# cgo for -race: a C compiler that builds and links, and Go that uses it.
ctmp=$(mktemp -d)
printf '#include <stdio.h>\nint main(void){puts("cc-ok");return 0;}\n' >"$ctmp/t.c"
gcc -o "$ctmp/t" "$ctmp/t.c" && [ "$("$ctmp/t")" = cc-ok ] ||
  die "gcc cannot compile and link a C program (packages gcc, libc6-dev)"
rm -rf "$ctmp"
[ "$(go env CGO_ENABLED)" = 1 ] ||
  die "go env CGO_ENABLED is not 1 (is CGO_ENABLED=0 set, or CC pointing elsewhere?): go test -race needs cgo"
say "ok: gcc, and Go with cgo"

support=$(swaks --support 2>&1) || die "swaks --support failed: $support"
grep -q "=== TLS supported" <<<"$support" ||
  die "swaks has no TLS (packages libnet-ssleay-perl, libio-socket-ssl-perl): $(grep TLS <<<"$support")"
grep -q "=== Basic AUTH supported" <<<"$support" ||
  die "swaks has no AUTH: $(grep AUTH <<<"$support")"
say "ok: swaks with TLS and AUTH"

# Chromium starts headless and renders a page (as root it needs
# --no-sandbox; no network is touched).
profile=$(mktemp -d)
dom=$(timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --no-first-run --no-default-browser-check --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" \
  --dump-dom 'data:text/html,<p id="egressguard">headless-ok</p>' 2>/dev/null) || true
rm -rf "$profile"
grep -q "headless-ok" <<<"$dom" || die "$chrome does not start headless (try: $chrome --headless --no-sandbox --dump-dom about:blank)"
say "ok: $chrome starts headless"

out=$(smtp-source 2>&1 || true)
grep -q "usage:" <<<"$out" || die "smtp-source does not run: $out"
say "ok: smtp-source"

systemd-analyze --version >/dev/null 2>&1 || die "systemd-analyze does not run (package systemd)"
say "ok: systemd-analyze"

say "test dependencies ready"
