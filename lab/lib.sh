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
  apt_install docker.io debootstrap mosquitto mosquitto-clients git rsync victoria-metrics nebula
}

# The lab's browser tests (lab/browser_test.py): Debian's Chromium and its driver, nothing else
# downloads a browser or a driver.
ensure_browser() {
  apt_install chromium chromium-driver
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

# ---- service images and the local registry (lab/images/, lab/build-base-image.sh) ----------
OVR_BASE_IMAGE=${OVR_BASE_IMAGE:-ovr-debian:$OVR_SUITE}
OVR_REGISTRY_NAME=${OVR_REGISTRY_NAME:-ovr-registry}
OVR_REGISTRY_PORT=${OVR_REGISTRY_PORT:-5000}

# image_recipe IMAGE: the ovr.recipe label of a local image (empty when there is no such image).
image_recipe() {
  docker image inspect "$1" --format '{{ index .Config.Labels "ovr.recipe" }}' 2>/dev/null || true
}

# The base of the service images: plain Debian minbase (no systemd), rebuilt when its recipe changes.
base_image_recipe() {
  printf '%s\n' "$OVR_SUITE" | cat - "$OVR_ROOT/lab/build-base-image.sh" | sha256sum | cut -c1-12
}

ensure_base_image() {
  ensure_docker
  local recipe; recipe=$(base_image_recipe)
  [ "$(image_recipe "$OVR_BASE_IMAGE")" = "$recipe" ] && return 0
  apt_install debootstrap
  mkdir -p "$OVR_STATE"
  log "building base image $OVR_BASE_IMAGE: debootstrap minbase $OVR_SUITE"
  bash "$OVR_ROOT/lab/build-base-image.sh" "$OVR_BASE_IMAGE" "$OVR_SUITE" "$(debian_mirror)" "$recipe" \
    >"$OVR_STATE/base-image.log" 2>&1 || { tail -20 "$OVR_STATE/base-image.log" >&2; die "base image build failed (log: $OVR_STATE/base-image.log)"; }
}

# The service images the lab and the tests use, one folder each under lab/images/.
service_image_names() {
  local d
  for d in "$OVR_ROOT"/lab/images/*/Dockerfile; do basename "$(dirname "$d")"; done
}

service_image_recipe() {
  # A service image changes when its folder or the base image changes.
  { base_image_recipe; (cd "$OVR_ROOT/lab/images/$1" && find . -type f | LC_ALL=C sort | xargs cat); } | sha256sum | cut -c1-12
}

# build_service_image NAME: builds ovr/NAME:lab and tags it ovr/NAME:<Debian version of its package>.
build_service_image() {
  local name=$1 recipe; recipe=$(service_image_recipe "$1")
  local log="$OVR_STATE/images/$name.log"
  DOCKER_BUILDKIT=0 docker build --label "ovr.recipe=$recipe" --build-arg "BASE=$OVR_BASE_IMAGE" \
    -t "ovr/$name:lab" "$OVR_ROOT/lab/images/$name" >"$log" 2>&1 || return 1
  local pkg ver
  pkg=$(docker image inspect "ovr/$name:lab" --format '{{ index .Config.Labels "ovr.package" }}')
  ver=$(docker run --rm --entrypoint dpkg-query "ovr/$name:lab" -W -f '${Version}' "$pkg") || return 1
  # Docker tags allow [A-Za-z0-9_.-]: 1.112.0+ds1-2 becomes 1.112.0_ds1-2.
  docker tag "ovr/$name:lab" "ovr/$name:$(printf '%s' "$ver" | tr -c 'A-Za-z0-9_.-' '_')"
}

# Builds, in parallel, only the service images that are missing or whose recipe changed.
ensure_service_images() {
  ensure_base_image
  mkdir -p "$OVR_STATE/images"
  local name todo=() pids=() rc=0 i
  for name in $(service_image_names); do
    [ "$(image_recipe "ovr/$name:lab")" = "$(service_image_recipe "$name")" ] || todo+=("$name")
  done
  [ ${#todo[@]} -eq 0 ] && return 0
  log "building service images: ${todo[*]} (logs: $OVR_STATE/images/)"
  for name in "${todo[@]}"; do build_service_image "$name" & pids+=($!); done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { rc=1; tail -15 "$OVR_STATE/images/${todo[$i]}.log" >&2; log "service image ${todo[$i]} FAILED"; }
  done
  [ $rc -eq 0 ] || die "service image build failed (logs: $OVR_STATE/images/)"
  docker image prune -f --filter "label=ovr.package" >/dev/null 2>&1 || true
}

# registry_digest REPO TAG: the manifest digest the local registry serves for REPO:TAG (or nothing).
registry_digest() {
  python3 - "$1" "$2" "$OVR_REGISTRY_PORT" <<'PY' 2>/dev/null || true
import sys, urllib.request
repo, tag, port = sys.argv[1:]
req = urllib.request.Request("http://127.0.0.1:%s/v2/%s/manifests/%s" % (port, repo, tag), method="HEAD")
req.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
print(urllib.request.urlopen(req, timeout=5).headers.get("Docker-Content-Digest", ""))
PY
}

registry_up() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/v2/" % sys.argv[1], timeout=2)' \
    "$OVR_REGISTRY_PORT" >/dev/null 2>&1
}

# The local registry (Debian's docker-registry in a container) on 127.0.0.1:$OVR_REGISTRY_PORT, holding
# every service image as ovr/NAME:lab and ovr/NAME:<version>. Lab and Molecule networks reach it as
# $OVR_REGISTRY_NAME:5000 once connected to them (docker network connect NET $OVR_REGISTRY_NAME),
# the way a site-local registry mirror is reached in the field.
ensure_registry() {
  ensure_service_images
  local want; want=$(docker image inspect ovr/registry:lab --format '{{ .Id }}')
  if [ "$(docker inspect "$OVR_REGISTRY_NAME" --format '{{ .Image }} {{ .State.Running }}' 2>/dev/null)" != "$want true" ]; then
    log "starting the local registry $OVR_REGISTRY_NAME on 127.0.0.1:$OVR_REGISTRY_PORT"
    docker rm -f "$OVR_REGISTRY_NAME" >/dev/null 2>&1 || true
    docker run -d --name "$OVR_REGISTRY_NAME" --restart unless-stopped --label owner=ovr-lab \
      -p "127.0.0.1:$OVR_REGISTRY_PORT:5000" -v ovr-registry-data:/var/lib/docker-registry \
      ovr/registry:lab >/dev/null || die "could not start the local registry"
  fi
  local i
  for i in $(seq 1 30); do registry_up && break; sleep 1; done
  registry_up || die "the local registry did not answer on 127.0.0.1:$OVR_REGISTRY_PORT"
  local name tag local_digest ref
  for name in $(service_image_names); do
    [ "$name" = registry ] && continue
    for tag in $(docker image inspect "ovr/$name:lab" --format '{{ join .RepoTags " " }}' | tr ' ' '\n' | grep "^ovr/$name:" | cut -d: -f2); do
      ref="127.0.0.1:$OVR_REGISTRY_PORT/ovr/$name"
      local_digest=$(docker image inspect "ovr/$name:lab" --format '{{ join .RepoDigests " " }}' | tr ' ' '\n' | grep "^$ref@" | cut -d@ -f2)
      [ -n "$local_digest" ] && [ "$(registry_digest "ovr/$name" "$tag")" = "$local_digest" ] && continue
      log "pushing ovr/$name:$tag to the local registry"
      docker tag "ovr/$name:lab" "$ref:$tag" && docker push -q "$ref:$tag" >/dev/null || die "push of $ref:$tag failed"
    done
  done
}
