#!/usr/bin/env bash
# postfix-setup.sh - set up (idempotently) and control the Postfix relay used as
# the performance reference for egressguard. Loopback only: Postfix listens on
# 127.0.0.1:LISTEN_PORT and relays every message to [127.0.0.1]:UPSTREAM_PORT
# (an smtp-sink started by relay-bench.sh). It never looks up DNS, never delivers
# locally and never talks to any other address.
#
# Usage: postfix-setup.sh [options] [start|stop|restart|purge|reset|status|config]
#   start    (default) install if needed, write the config, start or reload
#   stop     postfix stop
#   restart  stop, then start
#   purge    delete every queued message (postsuper -d ALL), incl. held mail
#   reset    purge, then reload Postfix (if running): after a benchmark run was
#            cut short, Postfix treats the vanished sink as a dead destination
#            and defers everything for it for minimal_backoff_time (300 s);
#            a reload forgets that
#   status   postfix status + queue size
#   config   only write the config (no start)
# Options:
#   -l PORT  loopback port Postfix listens on                (default 10025)
#   -u PORT  loopback port of the upstream sink (relayhost)  (default 10026)
#   -c MODE  content inspection: none | regex                (default none)
#            regex = 20 header_checks + 20 body_checks regexp rules that the
#            benchmark mail never matches (so every rule runs on every line)
#   -q MODE  queue mode: relay | hold                        (default relay)
#            hold = accept, queue durably, put on hold (never deliver): this
#            measures the acceptance path alone
#   -C N     default_destination_concurrency_limit           (default 20)
#   -L FILE  Postfix log file (maillog_file)      (default /var/log/postfix-bench.log)
#   -h       help
set -euo pipefail

LISTEN_PORT=10025
UPSTREAM_PORT=10026
CHECKS=none
QMODE=relay
CONC=20
LOGFILE=/var/log/postfix-bench.log

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while getopts "l:u:c:q:C:L:h" opt; do
  case "$opt" in
    l) LISTEN_PORT=$OPTARG ;;
    u) UPSTREAM_PORT=$OPTARG ;;
    c) CHECKS=$OPTARG ;;
    q) QMODE=$OPTARG ;;
    C) CONC=$OPTARG ;;
    L) LOGFILE=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
ACTION=${1:-start}

die() { echo "postfix-setup: $*" >&2; exit 1; }
is_port() { [[ $1 =~ ^[0-9]+$ ]] && (( $1 > 0 && $1 < 65536 )); }
is_port "$LISTEN_PORT" || die "bad -l port: $LISTEN_PORT"
is_port "$UPSTREAM_PORT" || die "bad -u port: $UPSTREAM_PORT"
[[ $LISTEN_PORT != "$UPSTREAM_PORT" ]] || die "-l and -u must differ"
[[ $CHECKS == none || $CHECKS == regex ]] || die "bad -c mode: $CHECKS"
[[ $QMODE == relay || $QMODE == hold ]] || die "bad -q mode: $QMODE"
[[ $CONC =~ ^[0-9]+$ ]] || die "bad -C: $CONC"
[[ $(id -u) == 0 ]] || die "must run as root"

CONF_DIR=/etc/postfix

install_postfix() {
  if command -v postfix >/dev/null && command -v smtp-sink >/dev/null \
     && [[ -f $CONF_DIR/master.cf ]]; then
    return
  fi
  echo "postfix-setup: installing postfix from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  # "No configuration" keeps debconf from writing a site config we then undo;
  # this script writes everything it needs itself.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq postfix >/dev/null
  [[ -f $CONF_DIR/main.cf ]] || : > "$CONF_DIR/main.cf"
}

running() { postfix status >/dev/null 2>&1; }

write_checks() {
  # Regexp tables (Postfix regexp: POSIX extended, case-insensitive). None of
  # them matches smtp-source's generated mail, so each rule is tried on every
  # header / body line: the full cost of inspection with no action taken.
  cat > "$CONF_DIR/bench_header_checks" <<'EOF'
/^Subject:.*(urgent|invoice|payment due|wire transfer|gift card)/ HOLD suspicious subject
/^From:.*@[^>]*\.(top|xyz|click|country|zip|mov)>?$/ HOLD suspicious sender TLD
/^Reply-To:.*@(gmail|yahoo|outlook|hotmail|proton)\.(com|me)/ HOLD free-mail reply-to
/^Content-Type:.*name="?[^"]*\.(exe|scr|js|vbs|bat|cmd|jar|msi|iso)"?/ REJECT executable attachment
/^Content-Disposition:.*filename="?[^"]*\.(exe|scr|js|vbs|bat|cmd|jar|msi|iso)"?/ REJECT executable attachment
/^Content-Type:.*application\/(x-msdownload|x-dosexec|java-archive)/ REJECT executable type
/^X-Mailer:.*(phpmailer|mass ?mailer|bulk)/ HOLD bulk mailer
/^Bcc:/ HOLD bcc header present
/^To:([^,]*,){20,}/ HOLD too many To recipients
/^Cc:([^,]*,){20,}/ HOLD too many Cc recipients
/^Subject:.*=\?[a-z0-9-]+\?b\?[a-z0-9+\/=]{200,}/ HOLD long encoded subject
/^Received:.*\[(10|192\.168|172\.(1[6-9]|2[0-9]|3[01]))\.[0-9]+\.[0-9]+\].*\[(10|192\.168)\./ WARN internal hop
/^X-Originating-IP:.*\[(10|192\.168)\./ WARN internal origin
/^Return-Path:.*@(mailinator|guerrillamail|10minutemail)\./ HOLD throwaway return path
/^Disposition-Notification-To:/ WARN read receipt requested
/^Subject:.*(confidential|internal only|do not forward)/ HOLD classified subject
/^Content-Type:.*multipart\/encrypted/ HOLD encrypted content
/^X-Priority:.*1 \(highest\)/ WARN high priority
/^List-Unsubscribe:.*https?:\/\/[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/ HOLD raw-IP unsubscribe
/^Message-Id:.*@(localhost|localdomain|example)>/ WARN odd message-id
EOF
  cat > "$CONF_DIR/bench_body_checks" <<'EOF'
/https?:\/\/[^\/ ]*\.(zip|mov|top|xyz|click|country|gq|tk)([\/:" ]|$)/ HOLD suspicious TLD link
/https?:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/ HOLD raw IP link
/https?:\/\/[^\/ ]*@/ HOLD userinfo in link
/(bit\.ly|tinyurl\.com|t\.co|goo\.gl|is\.gd|ow\.ly|rebrand\.ly)\// HOLD URL shortener
/https?:\/\/[^\/ ]*xn--/ HOLD punycode link
/https?:\/\/[^\/ ]*(login|signin|verify|account|secure)[^\/ ]*\./ HOLD credential-phish-like host
/password[[:space:]]*(reset|expired|expires|verify)/ HOLD password lure
/wire[[:space:]]+transfer/ HOLD wire transfer
/IBAN[: ]*[a-z]{2}[0-9]{2}[ ]?[0-9a-z]{4}/ HOLD IBAN
/-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----/ REJECT private key
/(AKIA|ASIA)[0-9A-Z]{16}/ REJECT cloud access key
/ghp_[a-z0-9]{36}/ REJECT source-hosting token
/xox[baprs]-[a-z0-9-]{10,}/ REJECT chat token
/[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{4}/ HOLD card-number-like
/[^0-9][0-9]{3}-[0-9]{2}-[0-9]{4}[^0-9]/ HOLD SSN-like
/data:[a-z]+\/[a-z0-9.+-]+;base64,/ HOLD data URI
/<script[ >]/ HOLD script tag
/(javascript|vbscript):/ HOLD script URI
/on(mouseover|load|error)=/ HOLD event handler
/(confidential|internal only|do not forward)/ HOLD classification marker
EOF
}

write_config() {
  [[ -f $CONF_DIR/main.cf.pre-bench ]] || cp -p "$CONF_DIR/main.cf" "$CONF_DIR/main.cf.pre-bench"
  [[ -f $CONF_DIR/master.cf.pre-bench ]] || cp -p "$CONF_DIR/master.cf" "$CONF_DIR/master.cf.pre-bench"
  local up="[127.0.0.1]:$UPSTREAM_PORT"
  postconf -e \
    "compatibility_level = 3.6" \
    "myhostname = anchor.localdomain" \
    "inet_interfaces = loopback-only" \
    "inet_protocols = ipv4" \
    "mynetworks = 127.0.0.0/8" \
    "mydestination =" \
    "local_recipient_maps =" \
    "local_transport = error:5.1.1 local delivery disabled on the benchmark relay" \
    "relay_domains =" \
    "relayhost = $up" \
    "default_transport = smtp:$up" \
    "relay_transport = smtp:$up" \
    "smtp_dns_support_level = disabled" \
    "smtp_host_lookup = native" \
    "smtp_tls_security_level = none" \
    "smtpd_tls_security_level = none" \
    "smtpd_relay_restrictions = permit_mynetworks, reject" \
    "default_destination_concurrency_limit = $CONC" \
    "maillog_file = $LOGFILE" \
    "biff = no"
  # Re-running must not keep settings from another mode.
  if [[ $CHECKS == regex ]]; then
    write_checks
    postconf -e "header_checks = regexp:$CONF_DIR/bench_header_checks" \
                "body_checks = regexp:$CONF_DIR/bench_body_checks"
  else
    postconf -e "header_checks =" "body_checks ="
  fi
  if [[ $QMODE == hold ]]; then
    postconf -e "smtpd_data_restrictions = check_client_access static:HOLD"
  else
    postconf -e "smtpd_data_restrictions ="
  fi
  # master.cf: no port-25 listener; exactly one bench listener on loopback.
  if postconf -M smtp/inet >/dev/null 2>&1 && [[ -n $(postconf -M smtp/inet 2>/dev/null) ]]; then
    postconf -MX smtp/inet
  fi
  local svc
  for svc in $(postconf -M 2>/dev/null | awk '$2 == "inet" && $1 ~ /^127\.0\.0\.1:/ {print $1}'); do
    [[ $svc == "127.0.0.1:$LISTEN_PORT" ]] || postconf -MX "$svc/inet"
  done
  postconf -M "127.0.0.1:$LISTEN_PORT/inet = 127.0.0.1:$LISTEN_PORT inet n - n - - smtpd"
  # No chroot: Debian's chroot needs files copied in by its init script, which
  # a plain `postfix start` (no systemd here) does not run.
  postconf -F '*/*/chroot = n'
  touch "$LOGFILE"
  # benchmark runs log ~1 KB per message: keep the file from growing without bound
  if (( $(stat -c %s "$LOGFILE") > 100 * 1024 * 1024 )); then : > "$LOGFILE"; fi
  postfix check
}

wait_listening() {
  local _
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$LISTEN_PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "postfix is not listening on 127.0.0.1:$LISTEN_PORT after 10s (see $LOGFILE)"
}

queue_size() {
  local n=0 d
  for d in incoming active deferred hold maildrop; do
    n=$((n + $(find "$(postconf -h queue_directory)/$d" -type f 2>/dev/null | wc -l)))
  done
  echo "$n"
}

case "$ACTION" in
  start)
    install_postfix
    write_config
    if running; then postfix reload >/dev/null 2>&1; else postfix start >/dev/null 2>&1; fi
    wait_listening
    echo "postfix-setup: relay on 127.0.0.1:$LISTEN_PORT -> [127.0.0.1]:$UPSTREAM_PORT checks=$CHECKS queue=$QMODE concurrency=$CONC log=$LOGFILE"
    ;;
  config)
    install_postfix
    write_config
    ;;
  stop)
    if running; then postfix stop >/dev/null 2>&1; fi
    echo "postfix-setup: stopped"
    ;;
  restart)
    if running; then postfix stop >/dev/null 2>&1; fi
    "$0" -l "$LISTEN_PORT" -u "$UPSTREAM_PORT" -c "$CHECKS" -q "$QMODE" -C "$CONC" -L "$LOGFILE" start
    ;;
  purge)
    postsuper -d ALL >/dev/null 2>&1 || true
    echo "postfix-setup: queue purged (now $(queue_size) files)"
    ;;
  reset)
    postsuper -d ALL >/dev/null 2>&1 || true
    if running; then postfix reload >/dev/null 2>&1; wait_listening; fi
    echo "postfix-setup: queue purged and postfix reloaded (now $(queue_size) files)"
    ;;
  status)
    if running; then echo "postfix: running"; else echo "postfix: stopped"; fi
    echo "queued files: $(queue_size)"
    ;;
  *) usage >&2; exit 2 ;;
esac
