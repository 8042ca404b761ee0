#!/usr/bin/env bash
# Make sure the message brokers purista's tests use are running on loopback.
#
#   scripts/brokers.sh status            # which broker answers on its port
#   scripts/brokers.sh up [NAME...]      # start each broker that is down, wait until it answers
#
# NAME is nats (4222), rabbitmq (5672) or mosquitto (1883); default: all three. The start
# commands are those of the Debian packages (nats-server, rabbitmq-server, mosquitto) run as
# root, as on the project's machines. This script never stops a broker.
# BROKER_WAIT_SECONDS (default 120) bounds the wait for each broker.
set -euo pipefail

HOST=127.0.0.1
WAIT_SECONDS=${BROKER_WAIT_SECONDS:-120}
ALL=(nats rabbitmq mosquitto)

port_of() {
  case $1 in
    nats) echo 4222 ;;
    rabbitmq) echo 5672 ;;
    mosquitto) echo 1883 ;;
    *) echo "brokers.sh: unknown broker '$1' (choose from: ${ALL[*]})" >&2; return 2 ;;
  esac
}

# reachable NAME: true when something accepts TCP connections on the broker's port.
reachable() {
  local port
  port=$(port_of "$1")
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$port" 2>/dev/null
}

# start NAME: launch the broker in the background. A failing start command is reported but
# not fatal: the broker may already be starting; the wait decides.
start() {
  local cmd
  case $1 in
    nats) cmd=(start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server --
               -a "$HOST" -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log) ;;
    rabbitmq) cmd=(rabbitmq-server -detached) ;;
    mosquitto) cmd=(mosquitto -d -c /etc/mosquitto/mosquitto.conf) ;;
  esac
  if ! command -v "${cmd[0]}" >/dev/null 2>&1; then
    echo "brokers.sh: cannot start $1: '${cmd[0]}' is not installed." >&2
    echo "brokers.sh: install it (Debian: apt-get install nats-server rabbitmq-server mosquitto)" >&2
    echo "brokers.sh: or point the tests at a running broker (see README.md, Deployment models)." >&2
    return 1
  fi
  echo "brokers.sh: $1 is down on $HOST:$(port_of "$1"); starting: ${cmd[*]}" >&2
  if [ "$1" = nats ]; then mkdir -p /var/lib/nats-server 2>/dev/null || true; fi
  "${cmd[@]}" </dev/null >&2 || echo "brokers.sh: start command for $1 exited with $? (waiting for its port anyway)" >&2
}

# wait_for NAME: poll the port until it answers or WAIT_SECONDS pass.
wait_for() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  until reachable "$1"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "brokers.sh: $1 did not answer on $HOST:$(port_of "$1") within ${WAIT_SECONDS}s." >&2
      case $1 in
        rabbitmq) echo "brokers.sh: see /var/log/rabbitmq/ for why." >&2 ;;
        nats) echo "brokers.sh: see /var/log/nats-server.log for why." >&2 ;;
        mosquitto) echo "brokers.sh: see /var/log/mosquitto/ for why." >&2 ;;
      esac
      return 1
    fi
    sleep 1
  done
  echo "brokers.sh: $1 is up on $HOST:$(port_of "$1")" >&2
}

cmd_status() {
  local name rc=0
  for name in "${ALL[@]}"; do
    if reachable "$name"; then printf "%-10s up    %s:%s\n" "$name" "$HOST" "$(port_of "$name")"
    else printf "%-10s down  %s:%s\n" "$name" "$HOST" "$(port_of "$name")"; rc=1; fi
  done
  return $rc
}

cmd_up() {
  local names=("$@") name failed=()
  [ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
  for name in "${names[@]}"; do port_of "$name" >/dev/null; done
  # Start everything that is down first, then wait, so slow starters overlap.
  local started=()
  for name in "${names[@]}"; do
    if reachable "$name"; then
      echo "brokers.sh: $name is up on $HOST:$(port_of "$name")" >&2
    else
      start "$name" || { failed+=("$name"); continue; }
      started+=("$name")
    fi
  done
  for name in "${started[@]}"; do wait_for "$name" || failed+=("$name"); done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "brokers.sh: not available: ${failed[*]}" >&2
    return 1
  fi
}

case ${1:-} in
  status) cmd_status ;;
  up) shift; cmd_up "$@" ;;
  *) echo "usage: $0 status | up [nats|rabbitmq|mosquitto]..." >&2; exit 2 ;;
esac
