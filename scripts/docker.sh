#!/usr/bin/env bash
# A Docker Engine and the local images purista's container tests use.
#
#   scripts/docker.sh status     # does a daemon answer; which test images it has
#   scripts/docker.sh up         # install + start the engine if none answers, Compose, then `images`
#   scripts/docker.sh images     # build each test image the daemon does not have yet
#   scripts/docker.sh clean ID   # remove containers, networks and images of test session ID
#
# No registry is reachable on the project's machines, so nothing is pulled: every image is
# built from parts of this machine, FROM scratch, with the classic builder:
#
#   purista-test/nats:local       nats-server built statically from the project's go.mod
#                                 version, busybox-static for a shell (testcontainers' port
#                                 check runs one); ENTRYPOINT /nats-server
#   purista-test/mosquitto:local  Debian's mosquitto with its shared libraries, user 1883,
#                                 /mosquitto/config/mosquitto.conf (listener 1883, anonymous)
#   purista-test/rabbitmq:local   Debian's rabbitmq-server in a debootstrap root file system
#                                 (minutes, once; skipped with PURISTA_DOCKER_NO_RABBITMQ=1)
#
# Each image carries the label dev.purista.test.source (the version it was built from) and is
# rebuilt only when that changes. `up` starts dockerd as root in the background with its log in
# $DOCKERD_LOG (default /var/log/purista-dockerd.log) and waits at most DOCKER_WAIT_SECONDS
# (default 60) for `docker version`. The engine is left running; this script never stops it.
set -euo pipefail

cd "$(dirname "$0")/.."

WAIT_SECONDS=${DOCKER_WAIT_SECONDS:-60}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/purista-dockerd.log}
# The classic builder: FROM scratch needs no registry and no buildx plugin.
export DOCKER_BUILDKIT=0

IMAGE_NATS=purista-test/nats:local
IMAGE_MOSQUITTO=purista-test/mosquitto:local
IMAGE_RABBITMQ=purista-test/rabbitmq:local
SOURCE_LABEL=dev.purista.test.source

say() { echo "docker.sh: $*" >&2; }

answers() { timeout 10 docker version >/dev/null 2>&1; }

install_engine() {
  if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    say "dockerd is not installed and installing it needs root: apt-get install docker.io"
    return 1
  fi
  say "installing Debian's docker.io (engine, containerd, runc)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
}

# install_compose: Debian's docker-compose when neither it nor the compose plugin is there
# (the Compose test of `purista deploy manifests` runs it).
install_compose() {
  if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" != 0 ]; then say "Compose is not installed and installing it needs root: apt-get install docker-compose"; return 1; fi
  say "installing Debian's docker-compose"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
}

start_engine() {
  if [ "$(id -u)" != 0 ]; then
    say "no Docker daemon answers and starting dockerd needs root"
    return 1
  fi
  say "starting dockerd (log: $DOCKERD_LOG)"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  local deadline=$((SECONDS + WAIT_SECONDS))
  until answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "dockerd did not answer within ${WAIT_SECONDS}s; the end of $DOCKERD_LOG:"
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      return 1
    fi
    sleep 1
  done
  say "dockerd answers: $(docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}')"
}

# current IMAGE SOURCE: true when the daemon has IMAGE built from SOURCE.
current() {
  [ "$(docker image inspect --format "{{index .Config.Labels \"$SOURCE_LABEL\"}}" "$1" 2>/dev/null)" = "$2" ]
}

# add_busybox DIR: a static busybox in DIR/bin with a link per applet (sh, cat, nc, …).
add_busybox() {
  local bb
  bb=$(command -v busybox || true)
  if [ -z "$bb" ] || ldd "$bb" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
      bb=$(command -v busybox)
    else
      say "a static busybox is needed: apt-get install busybox-static"; return 1
    fi
  fi
  mkdir -p "$1/bin"
  cp "$bb" "$1/bin/busybox"
  local applet
  for applet in $("$bb" --list); do
    [ -e "$1/bin/$applet" ] || ln -s busybox "$1/bin/$applet"
  done
}

# build TAG SOURCE DIR: docker build of the context DIR (its Dockerfile) as TAG.
build() {
  printf 'LABEL %s="%s"\n' "$SOURCE_LABEL" "$2" >>"$3/Dockerfile"
  # stderr only on failure (the classic builder prints a deprecation banner every time).
  if ! docker build --quiet --tag "$1" "$3" >"$3/build.log" 2>&1; then
    cat "$3/build.log" >&2
    return 1
  fi
  say "built $1 ($2)"
}

image_nats() (
  local version ctx
  version=$(go list -m -f '{{.Version}}' github.com/nats-io/nats-server/v2)
  if current "$IMAGE_NATS" "nats-server $version"; then say "$IMAGE_NATS is current (nats-server $version)"; return 0; fi
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  say "building nats-server $version statically (a few minutes the first time)"
  CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/nats-server" github.com/nats-io/nats-server/v2
  add_busybox "$ctx"
  mkdir -p "$ctx/tmp"
  chmod 1777 "$ctx/tmp"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY bin /bin
COPY tmp /tmp
COPY nats-server /nats-server
EXPOSE 4222 6222 8222
ENTRYPOINT ["/nats-server"]
CMD ["-js"]
EOF
  build "$IMAGE_NATS" "nats-server $version" "$ctx"
)

image_mosquitto() (
  local bin version ctx lib
  bin=/usr/sbin/mosquitto
  if [ ! -x "$bin" ]; then
    if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null
    else say "mosquitto is not installed: apt-get install mosquitto"; return 1; fi
  fi
  version="mosquitto $(dpkg-query -W -f '${Version}' mosquitto)"
  if current "$IMAGE_MOSQUITTO" "$version"; then say "$IMAGE_MOSQUITTO is current ($version)"; return 0; fi
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  mkdir -p "$ctx/root/usr/sbin" "$ctx/root/etc" "$ctx/root/mosquitto/config" "$ctx/root/mosquitto/data"
  cp "$bin" "$ctx/root/usr/sbin/mosquitto"
  # The binary's shared libraries and the dynamic loader, at their own paths.
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$ctx/root$(dirname "$lib")"
    cp -L "$lib" "$ctx/root$lib"
  done
  add_busybox "$ctx/root"
  printf 'root:x:0:0:root:/:/bin/sh\nmosquitto:x:1883:1883:mosquitto:/mosquitto:/bin/sh\n' >"$ctx/root/etc/passwd"
  printf 'root:x:0:\nmosquitto:x:1883:\n' >"$ctx/root/etc/group"
  printf 'listener 1883\nallow_anonymous true\n' >"$ctx/root/mosquitto/config/mosquitto.conf"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY root /
EXPOSE 1883
USER 1883:1883
CMD ["/usr/sbin/mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]
EOF
  build "$IMAGE_MOSQUITTO" "$version" "$ctx"
)

image_rabbitmq() (
  if [ "${PURISTA_DOCKER_NO_RABBITMQ:-}" = 1 ]; then say "skipping $IMAGE_RABBITMQ (PURISTA_DOCKER_NO_RABBITMQ=1)"; return 0; fi
  local version ctx
  version="rabbitmq-server $(apt-cache policy rabbitmq-server | awk '/Candidate:/ {print $2}') bookworm"
  if current "$IMAGE_RABBITMQ" "$version"; then say "$IMAGE_RABBITMQ is current ($version)"; return 0; fi
  if [ "$(id -u)" != 0 ]; then say "building $IMAGE_RABBITMQ needs root (debootstrap)"; return 1; fi
  command -v debootstrap >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  say "debootstrap of Debian bookworm with rabbitmq-server (several minutes, once)"
  debootstrap --variant=minbase --include=rabbitmq-server bookworm "$ctx/root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    >"$ctx/debootstrap.log" 2>&1 || { tail -n 20 "$ctx/debootstrap.log" >&2; return 1; }
  rm -rf "$ctx/root/var/cache/apt/archives/"*.deb "$ctx/root/var/lib/apt/lists/"*
  # guest may log in over the mapped port (the connection does not come from loopback).
  mkdir -p "$ctx/root/etc/rabbitmq/conf.d"
  printf 'loopback_users = none\n' >"$ctx/root/etc/rabbitmq/conf.d/10-purista-test.conf"
  # docker import of the tree keeps its owners (COPY would make /var/lib/rabbitmq root's).
  # Logs go to stdout: testcontainers waits for "Server startup complete".
  tar --numeric-owner -C "$ctx/root" -c . | docker import \
    --change 'ENV RABBITMQ_LOGS=- HOME=/var/lib/rabbitmq' \
    --change 'EXPOSE 5672 15672' \
    --change 'USER rabbitmq' \
    --change "LABEL $SOURCE_LABEL=\"$version\"" \
    --change 'CMD ["/usr/lib/rabbitmq/bin/rabbitmq-server"]' - "$IMAGE_RABBITMQ" >/dev/null
  say "built $IMAGE_RABBITMQ ($version)"
)

cmd_images() {
  answers || { say "no Docker daemon answers: run '$0 up'"; return 1; }
  local failed=()
  image_nats || failed+=("$IMAGE_NATS")
  image_mosquitto || failed+=("$IMAGE_MOSQUITTO")
  image_rabbitmq || failed+=("$IMAGE_RABBITMQ")
  if [ ${#failed[@]} -gt 0 ]; then say "not built: ${failed[*]}"; return 1; fi
}

cmd_up() {
  if answers; then
    say "a Docker daemon answers: $(docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}')"
  else
    install_engine
    start_engine
  fi
  install_compose
  cmd_images
}

cmd_status() {
  if ! answers; then echo "daemon     down"; return 1; fi
  echo "daemon     up    $(docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}')"
  local img rc=0
  for img in "$IMAGE_NATS" "$IMAGE_MOSQUITTO" "$IMAGE_RABBITMQ"; do
    if docker image inspect "$img" >/dev/null 2>&1; then
      printf '%-30s %s\n' "$img" "$(docker image inspect --format "{{index .Config.Labels \"$SOURCE_LABEL\"}}" "$img")"
    else printf '%-30s missing\n' "$img"; rc=1; fi
  done
  return $rc
}

# clean ID: remove what the tests of session ID left (testcontainers' session label and the
# label of purista's own tests).
cmd_clean() {
  [ -n "${1:-}" ] || { echo "usage: $0 clean SESSION_ID" >&2; return 2; }
  answers || return 0
  local f
  for f in "label=org.testcontainers.sessionId=$1" "label=dev.purista.test.session=$1"; do
    docker ps -aq --filter "$f" | xargs -r docker rm -f >/dev/null
    docker network ls -q --filter "$f" | xargs -r docker network rm >/dev/null
    docker images -q --filter "$f" | sort -u | xargs -r docker rmi -f >/dev/null
  done
}

case ${1:-} in
  status) cmd_status ;;
  up) cmd_up ;;
  images) cmd_images ;;
  clean) shift; cmd_clean "$@" ;;
  *) echo "usage: $0 status | up | images | clean SESSION_ID" >&2; exit 2 ;;
esac
