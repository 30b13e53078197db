#!/usr/bin/env bash
# make classroom-service: the class as systemd units, enabled at boot. The hub's unit runs up.sh and
# down.sh: the hub with its proxy, its managed services (the gateway, the idle culler) and the practice
# server, started again when the hub fails. The class's settings are this call's (ROSTER, UPSTREAM_URL,
# ... as for make classroom), kept in a root-only environment file beside the units.
# Where systemd does not run the machine it says so and installs nothing; DESTDIR=DIR writes the units
# under DIR anyway. Either way the units written are checked with systemd-analyze verify.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The variables of make classroom that a unit keeps (set ones only; secrets are never among them:
# the upstream key and the hub database's URL stay in their own files, named here by path).
SETTINGS=(ROSTER CLASSROOM_PORT CLASSROOM_DIR CLASSROOM_RUNTIME CLASS_VAR TEACHER STUDENT_GROUP GATEWAY_USER
  UPSTREAM_URL UPSTREAM_KEY_FILE STUDENT_PROVIDER STUDENT_MODEL GATEWAY_MODELS JUPYTER_AI IDLE_TIMEOUT PULL_TIMEOUT
  SOLUTIONS LOG_MAX_BYTES HUB_DATABASE_URL_FILE CLASSROOM_HOST CLASSROOM_HTTPS_PORT TLS_CERT TLS_KEY ACME_EMAIL
  ACME_DIRECTORY ACME_CA_ROOT CLASS_CA_DAYS CLASSROOM_HTTP_PORT CLASSROOM_FRONTDOOR_UNIT PATH HOME LANG)

DEST=${DESTDIR:-}
UNIT=streamdemo-classroom-$CLASSROOM_PORT.service
FRONTDOOR_UNIT=streamdemo-classroom-frontdoor-$CLASSROOM_PORT.service
UNIT_DIR=/etc/systemd/system
ENV_FILE=/etc/streamdemo-classroom/port-$CLASSROOM_PORT.env

if [[ -z $DEST ]]; then
  if [[ ! -d /run/systemd/system ]]; then
    say "systemd does not run this machine (PID 1 is $(ps -p 1 -o comm= 2>/dev/null || echo unknown)), so no unit was installed: after a crash or a reboot, make classroom brings the class back (DESTDIR=DIR writes the units under DIR to look at)"
    exit 0
  fi
  [[ $AS_ROOT ]] || die "installing the class's systemd units needs root: run make classroom-service as root (or DESTDIR=DIR to write them elsewhere)"
fi

# env_line NAME: NAME="value" for systemd's EnvironmentFile (quotes and backslashes escaped).
env_line() {
  local v=${!1}
  v=${v//\\/\\\\}
  printf '%s="%s"\n' "$1" "${v//\"/\\\"}"
}

# hub_unit: the hub's unit. Type=forking: up.sh returns once the class answers, the hub's pid in its file.
hub_unit() {
  cat <<EOF
[Unit]
Description=streamdemo classroom on port $CLASSROOM_PORT (JupyterHub, its proxy, the gateway)
Documentation=file://$REPO/docs/classroom/howto-systemd.md
After=network-online.target
Wants=network-online.target

[Service]
Type=forking
EnvironmentFile=$ENV_FILE
PIDFile=$CLASSROOM_DIR/jupyterhub.pid
ExecStart=/bin/bash $HERE/up.sh
ExecStop=/bin/bash $HERE/down.sh
Restart=on-failure
RestartSec=5
# The first start installs the runtime (minutes); a stop waits for every student server.
TimeoutStartSec=30min
TimeoutStopSec=2min

[Install]
WantedBy=multi-user.target
EOF
}

# frontdoor_unit: the front door's unit (HTTPS for a class beyond loopback), or nothing for a loopback
# class. Caddy in the foreground (the class's program becomes it), started again whenever it stops; ordered
# after the hub's unit, and stopped and restarted with it (PartOf). up.sh writes its configuration, then asks
# systemd to start it. The program (python3 on the class's PATH, as up.sh's) is this checkout's: PYTHONPATH, and -P
# so that no module comes from the working folder.
frontdoor_unit() {
  frontdoor_wanted || return 0
  cat <<EOF
[Unit]
Description=streamdemo classroom front door for the class on port $CLASSROOM_PORT (HTTPS at $(class_url))
Documentation=file://$REPO/docs/classroom/howto-network.md
After=network-online.target $UNIT
Wants=network-online.target
PartOf=$UNIT

[Service]
Type=simple
EnvironmentFile=$ENV_FILE
Environment=PYTHONPATH=$REPO
ExecStart=/usr/bin/env python3 -P -m classroom frontdoor run
ExecStartPost=/usr/bin/env python3 -P -m classroom frontdoor ready
ExecReload=/usr/bin/env python3 -P -m classroom frontdoor reload
Restart=always
RestartSec=2
TimeoutStartSec=2min

[Install]
WantedBy=multi-user.target
EOF
}

# write_unit NAME TEXT: the unit file, and its link in multi-user.target.wants (what systemctl enable makes).
write_unit() {
  mkdir -p "$DEST$UNIT_DIR/multi-user.target.wants"
  printf '%s\n' "$2" >"$DEST$UNIT_DIR/$1"
  chmod 644 "$DEST$UNIT_DIR/$1"
  ln -sfn "$UNIT_DIR/$1" "$DEST$UNIT_DIR/multi-user.target.wants/$1"
  WRITTEN+=("$DEST$UNIT_DIR/$1")
}

frontdoor_wanted && CLASSROOM_FRONTDOOR_UNIT=$FRONTDOOR_UNIT
ROSTER=$(readlink -f "$ROSTER")
CLASSROOM_DIR=$(readlink -m "$CLASSROOM_DIR")
[[ -f $ROSTER ]] || die "no roster at $ROSTER: write one student name per line, or set ROSTER=FILE"
mkdir -p "$(dirname "$DEST$ENV_FILE")"
chmod 700 "$(dirname "$DEST$ENV_FILE")"
(
  umask 077
  for name in "${SETTINGS[@]}"; do [[ -n ${!name:-} ]] && env_line "$name"; done >"$DEST$ENV_FILE.tmp"
  mv -f "$DEST$ENV_FILE.tmp" "$DEST$ENV_FILE"
)
WRITTEN=()
write_unit "$UNIT" "$(hub_unit)"
fd=$(frontdoor_unit)
if [[ $fd ]]; then write_unit "$FRONTDOOR_UNIT" "$fd"; else rm -f "$DEST$UNIT_DIR/$FRONTDOOR_UNIT" "$DEST$UNIT_DIR/multi-user.target.wants/$FRONTDOOR_UNIT"; fi

if command -v systemd-analyze >/dev/null; then
  # verify exits 0 on unknown keys and bad values (it ignores them): any word of it is a refusal here.
  said=$(systemd-analyze verify "${WRITTEN[@]}" 2>&1) && [[ -z $said ]] \
    || die "systemd-analyze verify found fault with the units (${WRITTEN[*]}), so none was enabled: $said"
  say "units checked with systemd-analyze verify"
else
  say "the units were not checked: systemd-analyze is missing (Debian: apt-get install systemd)"
fi
say "written: ${WRITTEN[*]} and the class's settings in $DEST$ENV_FILE (root only)"
if [[ -z $DEST ]]; then
  systemctl daemon-reload
  systemctl enable "$UNIT" >/dev/null
  say "enabled at boot: $UNIT (start it now: systemctl start $UNIT; a class started with make classroom should be stopped first: make classroom-down)"
fi
