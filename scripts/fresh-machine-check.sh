#!/usr/bin/env bash
# Proves README's test command on a fresh machine: a minimal Debian 12 root
# file system (debootstrap --variant=minbase bookworm) with nothing added
# but Go (the host's /usr/local/go), the host's CA certificates and a clean
# checkout of this repository's HEAD. Inside it, as root, under chroot:
#
#   1. with the network: `scripts/test-deps.sh --install-only` and
#      `go mod download` (packages and modules; nothing is started);
#   2. in a network namespace of its own, with only loopback, README's
#      command verbatim, with CI=true so that no test may skip:
#        ./scripts/test-deps.sh && go test -race -shuffle=on ./...
#      (its own namespace, so that a PostgreSQL or anything else on the
#      host's loopback cannot stand in for what the fresh machine lacks).
#
# Usage (as root, on a Debian or Ubuntu host; needs some 3 GB of disk and,
# on two cores, most of an hour):
#   scripts/fresh-machine-check.sh [--keep] [--reuse] [DIR]
# DIR defaults to /var/tmp/egressguard-fresh; it is removed afterwards
# unless --keep is given. --reuse takes a root kept from an earlier run
# (debootstrap and the first package installs done) and tests the current
# HEAD in it. The exit status is that of the test command.
set -euo pipefail

keep= reuse=
while :; do
  case "${1:-}" in
  --keep) keep=1; shift ;;
  --reuse) reuse=1; keep=1; shift ;;
  *) break ;;
  esac
done
root=${1:-/var/tmp/egressguard-fresh}
repo=$(cd "$(dirname "$0")/.." && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { echo "fresh-machine-check: $*"; }
die() { echo "fresh-machine-check: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root (debootstrap, mounts, chroot)"
[ -x /usr/local/go/bin/go ] || die "/usr/local/go/bin/go not found: the check copies the host's Go from there"
for t in unshare ip git; do command -v "$t" >/dev/null || die "$t not found on the host"; done
if ! command -v debootstrap >/dev/null || [ ! -s /usr/share/keyrings/debian-archive-keyring.gpg ]; then
  say "installing debootstrap and Debian's archive keyring on the host"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring >/dev/null
fi

cleanup() {
  set +e
  # PostgreSQL started by test-deps inside the root keeps running otherwise.
  for pgctl in "$root"/usr/lib/postgresql/*/bin/pg_ctl; do
    [ -x "$pgctl" ] && [ -f "$root/var/lib/egressguard-test-pg/postmaster.pid" ] &&
      chroot "$root" runuser -u postgres -- "${pgctl#"$root"}" -D /var/lib/egressguard-test-pg stop -m fast >/dev/null 2>&1
  done
  for m in dev sys proc; do
    mountpoint -q "$root/$m" && umount -R "$root/$m" 2>/dev/null || umount -lR "$root/$m" 2>/dev/null
  done
  if [ -z "$keep" ]; then
    # Only once nothing is mounted below it any more.
    if ! grep -q " $root/" /proc/mounts; then rm -rf "$root"; fi
  fi
}
trap cleanup EXIT

prepare() {
if [ -e "$root" ]; then die "$root exists; remove it or name another directory"; fi
say "debootstrap --variant=minbase bookworm $root"
debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg bookworm "$root" "$mirror" >/dev/null ||
  die "debootstrap failed (see $root/debootstrap/debootstrap.log)"
# The point releases' fixes, as on an installed machine.
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://security.debian.org/debian-security bookworm-security main
EOF

# Packages must not start services while they install (the postgresql
# package would start a cluster on the host's network); test-deps starts
# what the tests need in phase 2.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

say "copying Go, the CA certificates and HEAD of $repo"
cp -a /usr/local/go "$root/usr/local/go"
install -d "$root/etc/ssl/certs"
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
# Local CAs too (a proxy's, a company's): installing the ca-certificates
# package inside rebuilds the bundle from the distribution's list plus these.
install -d "$root/usr/local/share/ca-certificates"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp -L /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
grep -qs localhost "$root/etc/hosts" ||
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >>"$root/etc/hosts"
git clone -q --no-hardlinks "$repo" "$root/src"
git -C "$root/src" checkout -q "$(git -C "$repo" rev-parse HEAD)"
say "testing commit $(git -C "$root/src" rev-parse --short HEAD)"
}

if [ -n "$reuse" ]; then
  [ -d "$root/src/.git" ] || die "--reuse: $root holds no earlier run"
  say "reusing $root; testing HEAD of $repo"
  git -C "$root/src" fetch -q "$repo" HEAD
  git -C "$root/src" checkout -q -f FETCH_HEAD
  say "testing commit $(git -C "$root/src" rev-parse --short HEAD)"
else
  prepare
fi

mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"

# A clean environment: what a root login on the fresh machine has, plus Go.
env=(env -i HOME=/root LANG=C.UTF-8 TERM=dumb
  PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)

say "phase 1 (network): packages and modules"
chroot "$root" "${env[@]}" bash -c 'cd /src && ./scripts/test-deps.sh --install-only && go mod download' ||
  die "installing packages or modules failed"

say "phase 2 (loopback only): ./scripts/test-deps.sh && go test -race -shuffle=on ./..."
start=$(date +%s)
set +e
unshare --net bash -c '
  ip link set lo up || exit 1
  exec chroot "$0" "${@}" bash -c "cd /src && ./scripts/test-deps.sh && go test -race -shuffle=on ./..."
' "$root" "${env[@]}" CI=true 2>&1 | tee "/var/tmp/egressguard-fresh-$(date +%Y%m%d-%H%M%S).log"
rc=${PIPESTATUS[0]}
set -e
say "README's test command exited $rc after $(($(date +%s) - start)) s"
exit "$rc"
