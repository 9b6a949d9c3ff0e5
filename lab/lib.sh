#!/usr/bin/env bash
# Shared helpers of the fleet lab and the test command: each ensure_* step installs what it
# needs, unattended, and does nothing when it is already there.
# shellcheck disable=SC2034

OVR_ROOT=${OVR_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
OVR_VENV=${OVR_VENV:-$OVR_ROOT/.venv}
OVR_NODE_IMAGE=${OVR_NODE_IMAGE:-ovr-node:trixie}
OVR_SUITE=${OVR_SUITE:-trixie}
OVR_STATE=${OVR_STATE:-$OVR_ROOT/.cache}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Runs a command with a timing line, so slow stages stand out in CI output.
stage() {
  local name=$1; shift
  local t0=$SECONDS rc=0
  log "stage: $name"
  "$@" || rc=$?
  printf 'TIMING %-28s %4ds  %s\n' "$name" $((SECONDS - t0)) "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")" >&2
  return $rc
}

apt_install() {
  # apt_install PKG... : installs Debian packages that are missing.
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -f "$OVR_STATE/.apt-updated" ]; then
    apt-get update -q >/dev/null || die "apt-get update failed"
    mkdir -p "$OVR_STATE" && touch "$OVR_STATE/.apt-updated"
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -q >/dev/null; apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; } \
    || die "apt-get install ${missing[*]} failed"
}

ensure_host_packages() {
  apt_install docker.io debootstrap mosquitto mosquitto-clients git rsync
}

ensure_venv() {
  local stamp="$OVR_VENV/.requirements.sha"
  local want; want=$(sha256sum "$OVR_ROOT/requirements.txt" | cut -d' ' -f1)
  if [ -x "$OVR_VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  log "creating the Python virtualenv in $OVR_VENV (pinned: requirements.txt)"
  python3 -m venv "$OVR_VENV" || die "python3 -m venv failed"
  "$OVR_VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$OVR_VENV/bin/pip" install -q -r "$OVR_ROOT/requirements.txt" || die "pip install failed"
  echo "$want" >"$stamp"
}

# The collection must be found as ovr.fleet by ansible, molecule and pytest: a folder outside
# the tracked tree holds ansible_collections/ovr/fleet -> the checkout.
ensure_collection_link() {
  mkdir -p "$OVR_ROOT/.collections/ansible_collections/ovr"
  ln -sfn ../../.. "$OVR_ROOT/.collections/ansible_collections/ovr/fleet"
}

activate() {
  ensure_venv
  ensure_collection_link
  # shellcheck disable=SC1091
  . "$OVR_VENV/bin/activate"
  export ANSIBLE_CONFIG="$OVR_ROOT/ansible.cfg"
  export ANSIBLE_COLLECTIONS_PATH="$OVR_ROOT/.collections"
  export PYTHONPATH="$OVR_ROOT/.collections${PYTHONPATH:+:$PYTHONPATH}"
  export ANSIBLE_LOCAL_TEMP="$OVR_STATE/ansible-tmp"
  export ANSIBLE_HOME="$OVR_STATE/ansible-home"
  export MOLECULE_GLOB="molecule/*/molecule.yml"
}

ensure_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  command -v dockerd >/dev/null || apt_install docker.io
  # There is no systemd as PID 1 on these machines: start the engine in the background.
  if ! pgrep -x dockerd >/dev/null; then
    log "starting dockerd in the background (log: /var/log/ovr-dockerd.log)"
    nohup dockerd >/var/log/ovr-dockerd.log 2>&1 &
  fi
  local i
  for i in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  die "the Docker engine did not come up within 60 s (see /var/log/ovr-dockerd.log)"
}

# The Debian mirror this machine's apt already uses (never written into the repo).
debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ]; then
    uri=$(grep -hE '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?(http|https)://' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | grep -v security | sed -E 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | awk '{print $1; exit}')
  fi
  [ -n "$uri" ] || die "could not read a Debian mirror from the apt sources"
  echo "$uri"
}

# Build the node image (Debian $OVR_SUITE, systemd as PID 1) once; rebuilt when its recipe changes.
ensure_node_image() {
  ensure_docker
  local recipe; recipe=$(cat "$OVR_ROOT/lab/build-node-image.sh" "$OVR_ROOT/lab/node-packages.txt" | sha256sum | cut -c1-12)
  if docker image inspect "$OVR_NODE_IMAGE" --format '{{ index .Config.Labels "ovr.recipe" }}' 2>/dev/null | grep -qx "$recipe"; then
    return 0
  fi
  apt_install debootstrap
  mkdir -p "$OVR_STATE"
  log "building node image $OVR_NODE_IMAGE: debootstrap $OVR_SUITE (takes about a minute)"
  bash "$OVR_ROOT/lab/build-node-image.sh" "$OVR_NODE_IMAGE" "$OVR_SUITE" "$(debian_mirror)" "$recipe" \
    >"$OVR_STATE/node-image.log" 2>&1 || { tail -20 "$OVR_STATE/node-image.log" >&2; die "node image build failed (log: $OVR_STATE/node-image.log)"; }
  log "node image $OVR_NODE_IMAGE ready"
}
