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
#   CLASS_CA_DAYS         how long the class's own CA lives (default 180: a term)
# With neither a certificate nor ACME, the class makes its own CA ($FRONTDOOR_DIR/ca, class_ca.py: valid
# for the class's names only) and hands out $CLASS_CA (the file students' browsers trust).
# With a DNS name, each student's server and the teacher's page have a name of their own under it
# (origins.py): the school's certificate must cover NAME and *.NAME, the class CA covers both, and ACME
# gets one certificate per name (a wildcard would need a DNS-01 challenge).
CLASSROOM_HOST=${CLASSROOM_HOST:-127.0.0.1}
CLASSROOM_HTTPS_PORT=${CLASSROOM_HTTPS_PORT:-443}
CLASSROOM_HTTP_PORT=${CLASSROOM_HTTP_PORT:-80}
ACME_DIRECTORY=${ACME_DIRECTORY:-https://acme-v02.api.letsencrypt.org/directory}
FRONTDOOR_DIR=$CLASSROOM_DIR/frontdoor
FRONTDOOR_PID=$CLASSROOM_DIR/caddy.pid
CLASS_CA=$CLASSROOM_DIR/class-ca.crt
CLASS_CA_SHA256=$CLASSROOM_DIR/class-ca.sha256
COOKIE_BYTES=8192  # the most cookies a browser sends the class before the front door clears them (the class sets ~1 KB)

# frontdoor_wanted: true if the class is served beyond this machine (through the front door).
frontdoor_wanted() { [[ $CLASSROOM_HOST != 127.0.0.1 && $CLASSROOM_HOST != localhost ]]; }

# frontdoor_by_systemd: true when the front door is a systemd unit of its own (make classroom-service
# keeps its name in the class's settings): up.sh then writes its configuration and asks systemd to
# (re)start it, and down.sh asks systemd to stop it, instead of starting or killing Caddy themselves.
frontdoor_by_systemd() { [[ -n ${CLASSROOM_FRONTDOOR_UNIT:-} && -d /run/systemd/system ]]; }

# host_is_ip: true if CLASSROOM_HOST is an IP address (the front door then binds that address alone).
host_is_ip() { [[ $CLASSROOM_HOST =~ ^[0-9.]+$ || $CLASSROOM_HOST == *:* ]]; }

# class_url: the address students open: the hub's origin (students' servers and the teacher's page have
# origins of their own under it: origins.py).
class_url() {
  if ! frontdoor_wanted; then echo "http://localhost:$CLASSROOM_PORT"; return; fi
  local h=$CLASSROOM_HOST
  [[ $h == *:* ]] && h="[$h]"
  if [[ $CLASSROOM_HTTPS_PORT == 443 ]]; then echo "https://$h"; else echo "https://$h:$CLASSROOM_HTTPS_PORT"; fi
}

# origins COMMAND ARG...: origins.py, run by the runtime's Python (it has JupyterHub's naming rule).
origins() { "$RUNTIME/venv/bin/python" "$HERE/origins.py" "$@"; }

# origins_url hub|page|student: the hub's origin, the teacher's page, a student's server (NAME for the name).
origins_url() {
  local i
  case $1 in hub) i=1 ;; page) i=2 ;; student) i=3 ;; esac
  origins urls "$CLASSROOM_HOST" "$CLASSROOM_PORT" "$CLASSROOM_HTTPS_PORT" | sed -n "${i}p"
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
  local mode site tls_line extra pki=""
  mode=$(frontdoor_mode)
  extra=""  # only the IP students open; port 80 left alone when taken; a test's quicker renewal checks
  host_is_ip && extra+=$'\t'"default_bind $CLASSROOM_HOST"$'\n'
  port_taken "$CLASSROOM_HTTP_PORT" && extra+=$'\tauto_https disable_redirects\n'
  [[ -n ${CLASSROOM_RENEW_INTERVAL:-} ]] && extra+=$'\t'"renew_interval $CLASSROOM_RENEW_INTERVAL"$'\n'
  site=$(frontdoor_sites)
  case $mode in
    files) tls_line="tls $(readlink -f "$TLS_CERT") $(readlink -f "$TLS_KEY")" ;;
    acme)
      tls_line="tls $ACME_EMAIL {
		ca $ACME_DIRECTORY${ACME_CA_ROOT:+
		ca_root $(readlink -f "$ACME_CA_ROOT")}
	}" ;;
    class-ca)
      tls_line="tls internal"
      # The class's own CA (class_ca.py): Caddy signs with its intermediate and never holds the root's key.
      pki="	pki {
		ca local {
			name \"streamdemo class CA\"
			root {
				cert $FRONTDOOR_DIR/ca/root.crt
			}
			intermediate {
				cert $FRONTDOOR_DIR/ca/intermediate.crt
				key $FRONTDOOR_DIR/ca/intermediate.key
			}
		}
	}
" ;;
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
	servers {
		max_header_size 1MB
	}
$extra$pki	log {
		output file $FRONTDOOR_DIR/caddy.log
	}
}

$site {
	$tls_line
	header Strict-Transport-Security "max-age=31536000"
	# More cookies than the class ever sets: a page planted them (a student's server can set cookies for
	# the class's domain). Rather than every request of that browser being refused for its size, the
	# browser is told to drop the class's cookies, and its user logs in again.
	@planted expression \`{http.request.header.Cookie}.size() > $COOKIE_BYTES\`
	handle @planted {
		header Clear-Site-Data \`"cookies"\`
		respond "This browser held more cookies for the class than the class sets (a page planted them): they are deleted now. Open the class again and log in." 400
	}
	# Each chunk of an answer goes out as it comes; websockets (the kernels' channels) pass as they are.
	handle {
		reverse_proxy 127.0.0.1:$CLASSROOM_PORT {
			flush_interval -1
		}
	}
	log {
		output file $FRONTDOOR_DIR/access.log
	}
}
EOF
}

# frontdoor_sites: the front door's site addresses: the class's address and, with a DNS name, its
# subdomains: a wildcard with the class CA or the school's certificate, each name with ACME.
frontdoor_sites() {
  local h=$CLASSROOM_HOST sites=() n
  if host_is_ip; then
    [[ $h == *:* ]] && h="[$h]"
    sites=("https://$h:$CLASSROOM_HTTPS_PORT")
  elif [[ $(frontdoor_mode) == acme ]]; then
    while read -r n; do sites+=("https://$n:$CLASSROOM_HTTPS_PORT"); done < <(origins names "$h" "$TEACHER" $(roster_names))
  else
    sites=("https://$h:$CLASSROOM_HTTPS_PORT" "https://*.$h:$CLASSROOM_HTTPS_PORT")
  fi
  local IFS=,
  echo "${sites[*]}" | sed 's/,/, /g'
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
    local why
    host_is_ip || why=$(origins covers "$TLS_CERT" "$CLASSROOM_HOST" 2>&1) || die "$why"
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
  if [[ $(frontdoor_mode) == class-ca ]]; then
    local made
    made=$("$RUNTIME/venv/bin/python" "$HERE/class_ca.py" "$FRONTDOOR_DIR/ca" "$CLASSROOM_HOST" "${CLASS_CA_DAYS:-180}") || exit 1
    say "$made"
  fi
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

# class_ca_publish: copies the class's own CA (class_ca.py's root) to $CLASS_CA, and says its fingerprint,
# the one students compare before trusting it.
class_ca_publish() {
  local root=$FRONTDOOR_DIR/ca/root.crt
  [[ -s $root ]] || die "the class has no CA ($root is missing): run make classroom again"
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
    say "front door: running (pid $(<"$FRONTDOOR_PID")) at $(class_url)"
  elif frontdoor_wanted; then
    say "front door: not running"
  fi
}
