# The class's HTTPS front door (sourced by the classroom scripts after lib.sh): Caddy, in front of the
# hub's proxy, for a class served beyond loopback. The loopback class (CLASSROOM_HOST=127.0.0.1) has none.
#
#   CLASSROOM_HOST        the address or DNS name students open (default 127.0.0.1: plain HTTP, this machine only)
#   CLASSROOM_HTTPS_PORT  the front door's port (default 443)
#   CLASSROOM_HTTP_PORT   the port that only redirects to HTTPS and answers ACME challenges (default 80;
#                         left closed when something else listens on it)
#   TLS_CERT, TLS_KEY     the school's certificate and key (PEM files)
#   ACME_EMAIL            automatic certificates from an ACME CA for a public DNS name, renewed before expiry
#   ACME_DIRECTORY        that CA's directory (default Let's Encrypt's); ACME_CA_ROOT: a CA bundle to trust it
#   CLASSROOM_RENEW_INTERVAL  how often Caddy looks for certificates to renew (default 10m; the tests' 2s)
# With neither a certificate nor ACME, the class makes its own CA once ($FRONTDOOR_DIR/data) and hands
# out $CLASS_CA (the file students' browsers trust).
CLASSROOM_HOST=${CLASSROOM_HOST:-127.0.0.1}
CLASSROOM_HTTPS_PORT=${CLASSROOM_HTTPS_PORT:-443}
CLASSROOM_HTTP_PORT=${CLASSROOM_HTTP_PORT:-80}
ACME_DIRECTORY=${ACME_DIRECTORY:-https://acme-v02.api.letsencrypt.org/directory}
FRONTDOOR_DIR=$CLASSROOM_DIR/frontdoor
FRONTDOOR_PID=$CLASSROOM_DIR/caddy.pid
CLASS_CA=$CLASSROOM_DIR/class-ca.crt
CLASS_CA_SHA256=$CLASSROOM_DIR/class-ca.sha256

# frontdoor_wanted: true if the class is served beyond this machine (through the front door).
frontdoor_wanted() { [[ $CLASSROOM_HOST != 127.0.0.1 && $CLASSROOM_HOST != localhost ]]; }

# frontdoor_by_systemd: true when the front door is a systemd unit of its own (make classroom-service
# keeps its name in the class's settings): up.sh then writes its configuration and asks systemd to
# (re)start it, and down.sh asks systemd to stop it, instead of starting or killing Caddy themselves.
frontdoor_by_systemd() { [[ -n ${CLASSROOM_FRONTDOOR_UNIT:-} && -d /run/systemd/system ]]; }

# host_is_ip: true if CLASSROOM_HOST is an IP address (the front door then binds that address alone).
host_is_ip() { [[ $CLASSROOM_HOST =~ ^[0-9.]+$ || $CLASSROOM_HOST == *:* ]]; }

# class_url: the address students open.
class_url() {
  if ! frontdoor_wanted; then echo "$HUB_URL"; return; fi
  local h=$CLASSROOM_HOST
  [[ $h == *:* ]] && h="[$h]"
  if [[ $CLASSROOM_HTTPS_PORT == 443 ]]; then echo "https://$h"; else echo "https://$h:$CLASSROOM_HTTPS_PORT"; fi
}

# frontdoor_mode: where the front door's certificate comes from: files, acme or class-ca.
frontdoor_mode() {
  if [[ -n ${TLS_CERT:-}${TLS_KEY:-} ]]; then echo files
  elif [[ -n ${ACME_EMAIL:-} ]]; then echo acme
  else echo class-ca
  fi
}

# port_taken PORT: true if something on this machine listens on TCP PORT (any address).
port_taken() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

# frontdoor_config: the Caddyfile, on stdout. Every path and value comes from this script, none from a student.
frontdoor_config() {
  local mode site tls_line extra
  mode=$(frontdoor_mode)
  extra=""  # only the IP students open; port 80 left alone when taken; a test's quicker renewal checks
  host_is_ip && extra+=$'\t'"default_bind $CLASSROOM_HOST"$'\n'
  port_taken "$CLASSROOM_HTTP_PORT" && extra+=$'\tauto_https disable_redirects\n'
  [[ -n ${CLASSROOM_RENEW_INTERVAL:-} ]] && extra+=$'\t'"renew_interval $CLASSROOM_RENEW_INTERVAL"$'\n'
  site=$(class_url)
  [[ $CLASSROOM_HTTPS_PORT == 443 ]] && site="$site:443"
  case $mode in
    files) tls_line="tls $(readlink -f "$TLS_CERT") $(readlink -f "$TLS_KEY")" ;;
    acme)
      tls_line="tls $ACME_EMAIL {
		ca $ACME_DIRECTORY${ACME_CA_ROOT:+
		ca_root $(readlink -f "$ACME_CA_ROOT")}
	}" ;;
    class-ca) tls_line="tls internal" ;;
  esac
  cat <<EOF
# Written by classroom/up.sh at each start: edit the variables (see classroom/frontdoor.sh), not this file.
{
	admin unix/$FRONTDOOR_DIR/admin.sock
	storage file_system $FRONTDOOR_DIR/data
	persist_config off
	skip_install_trust
	ocsp_stapling off
	grace_period 5s
	http_port $CLASSROOM_HTTP_PORT
$extra	pki {
		ca local {
			name "streamdemo class CA"
		}
	}
	log {
		output file $FRONTDOOR_DIR/caddy.log
	}
}

$site {
	$tls_line
	header Strict-Transport-Security "max-age=31536000"
	# Each chunk of an answer goes out as it comes; websockets (the kernels' channels) pass as they are.
	reverse_proxy 127.0.0.1:$CLASSROOM_PORT {
		flush_interval -1
	}
	log {
		output file $FRONTDOOR_DIR/access.log
	}
}
EOF
}

# frontdoor_check: stops with one sentence when the front door's settings cannot work.
frontdoor_check() {
  if running "$HUB_PID" && [[ -f $CLASSROOM_DIR/class-url && $(<"$CLASSROOM_DIR/class-url") != "$(class_url)" ]]; then
    die "the class runs at $(<"$CLASSROOM_DIR/class-url"): stop it first (make classroom-down) to serve it at $(class_url)"
  fi
  frontdoor_wanted || return 0
  [[ -x $RUNTIME/bin/caddy ]] || die "the front door's server $RUNTIME/bin/caddy is missing: run make classroom again (it installs it)"
  if [[ -n ${TLS_CERT:-}${TLS_KEY:-} ]]; then
    [[ -r ${TLS_CERT:-} && -r ${TLS_KEY:-} ]] || die "TLS_CERT and TLS_KEY must both name readable PEM files (the certificate and its key)"
  fi
  [[ -z ${ACME_CA_ROOT:-} || -r $ACME_CA_ROOT ]] || die "ACME_CA_ROOT $ACME_CA_ROOT cannot be read: name the ACME server's CA bundle, or leave it unset"
  if port_taken "$CLASSROOM_HTTPS_PORT" && ! running "$FRONTDOOR_PID"; then
    die "port $CLASSROOM_HTTPS_PORT is taken on this machine: stop what listens there, or choose CLASSROOM_HTTPS_PORT=..."
  fi
}

# frontdoor_start: writes the Caddyfile and starts Caddy (or reloads the running one), then waits until it
# answers over HTTPS. Caddy runs from an allow-listed environment, with its logs in $FRONTDOOR_DIR.
frontdoor_start() {
  frontdoor_wanted || { frontdoor_stop quiet; return 0; }
  mkdir -p "$FRONTDOOR_DIR"
  chmod 700 "$FRONTDOOR_DIR"
  frontdoor_config >"$FRONTDOOR_DIR/Caddyfile.tmp"
  "$RUNTIME/bin/caddy" validate --config "$FRONTDOOR_DIR/Caddyfile.tmp" --adapter caddyfile >"$FRONTDOOR_DIR/validate.log" 2>&1 \
    || die "the front door's configuration does not validate: see $FRONTDOOR_DIR/validate.log"
  mv -f "$FRONTDOOR_DIR/Caddyfile.tmp" "$FRONTDOOR_DIR/Caddyfile"
  if frontdoor_by_systemd; then
    # --no-block: the unit starts after the hub's, whose start this script may be.
    systemctl reload-or-restart --no-block "$CLASSROOM_FRONTDOOR_UNIT"
    say "front door: $(class_url), started by systemd ($CLASSROOM_FRONTDOOR_UNIT); log: $FRONTDOOR_DIR/caddy.log"
    return 0
  fi
  if running "$FRONTDOOR_PID"; then
    "$RUNTIME/bin/caddy" reload --config "$FRONTDOOR_DIR/Caddyfile" --adapter caddyfile --address "unix/$FRONTDOOR_DIR/admin.sock" \
      >>"$FRONTDOOR_DIR/caddy.log" 2>&1 || die "the front door did not take its new configuration: see $FRONTDOOR_DIR/caddy.log"
  else
    frontdoor_exec setsid >>"$FRONTDOOR_DIR/caddy.log" 2>&1 </dev/null &
    echo $! >"$FRONTDOOR_PID"
  fi
  frontdoor_ready
  say "front door: $(class_url) (HTTPS, $(frontdoor_mode); http://...:$CLASSROOM_HTTP_PORT $(port_taken_by_others && echo "is taken, so it stays closed" || echo "only redirects")); log: $FRONTDOOR_DIR/caddy.log"
}

# frontdoor_exec [PREFIX...]: becomes Caddy (PREFIX, e.g. setsid, before it), from an allow-listed
# environment. up.sh runs it in the background; the front door's systemd unit runs it as its service.
frontdoor_exec() {
  cd "$FRONTDOOR_DIR"
  clean_env PATH LANG LC_ALL
  export HOME=$FRONTDOOR_DIR XDG_DATA_HOME=$FRONTDOOR_DIR/data XDG_CONFIG_HOME=$FRONTDOOR_DIR/config
  exec "$@" "$RUNTIME/bin/caddy" run --config "$FRONTDOOR_DIR/Caddyfile" --adapter caddyfile
}

# frontdoor_ready: waits until the front door answers, then hands out the class's own CA where it has one.
frontdoor_ready() {
  frontdoor_wait
  if [[ $(frontdoor_mode) == class-ca ]]; then class_ca_publish; else rm -f "$CLASS_CA_SHA256"; fi
}

# port_taken_by_others: true if the redirecting port is left closed (something else listens on it).
port_taken_by_others() { grep -q disable_redirects "$FRONTDOOR_DIR/Caddyfile"; }

# frontdoor_wait: waits up to 90 s until the front door answers over HTTPS (an ACME certificate may take a while).
frontdoor_wait() {
  local connect=127.0.0.1 verify=(-k)
  host_is_ip && connect=$CLASSROOM_HOST
  for _ in $(seq 180); do
    frontdoor_by_systemd || running "$FRONTDOOR_PID" || die "the front door stopped while starting: see the end of $FRONTDOOR_DIR/caddy.log"
    curl -sS -m 2 -o /dev/null "${verify[@]}" --resolve "$CLASSROOM_HOST:$CLASSROOM_HTTPS_PORT:$connect" \
      "$(class_url)/hub/api/" 2>/dev/null && return 0
    sleep 0.5
  done
  frontdoor_by_systemd || frontdoor_stop quiet >/dev/null
  die "the front door did not answer on $(class_url) within 90 s, so it is stopped again: see $FRONTDOOR_DIR/caddy.log"
}

# class_ca_publish: copies the class's own CA (made by Caddy once, kept in its storage) to $CLASS_CA,
# and says its fingerprint, the one students compare before trusting it.
class_ca_publish() {
  local root=$FRONTDOOR_DIR/data/pki/authorities/local/root.crt
  [[ -s $root ]] || die "the front door made no class CA ($root is missing): see $FRONTDOOR_DIR/caddy.log"
  cmp -s "$root" "$CLASS_CA" || install -m 600 "$root" "$CLASS_CA"
  openssl x509 -in "$CLASS_CA" -noout -fingerprint -sha256 | sed 's/^.*=//' >"$CLASS_CA_SHA256"
  say "the class's own CA: hand out $CLASS_CA (students' browsers trust it); its SHA-256 fingerprint: $(<"$CLASS_CA_SHA256")"
}

# frontdoor_stop [quiet]: stops Caddy if it runs.
frontdoor_stop() {
  if frontdoor_by_systemd; then
    systemctl stop --no-block "$CLASSROOM_FRONTDOOR_UNIT"
  elif running "$FRONTDOOR_PID"; then
    stop_pid "$(<"$FRONTDOOR_PID")" "the front door"
  elif [[ ${1:-} != quiet ]]; then
    say "the front door is not running"
  fi
  rm -f "$FRONTDOOR_PID"
}

# frontdoor_status: one line on the front door, if the class has one.
frontdoor_status() {
  if running "$FRONTDOOR_PID"; then
    say "front door: running (pid $(<"$FRONTDOOR_PID")) at $(sed -n 's/^\(https:[^ ]*\) {$/\1/p' "$FRONTDOOR_DIR/Caddyfile")"
  elif frontdoor_wanted; then
    say "front door: not running"
  fi
}
