#!/usr/bin/env bash
# The test command (README: `./fleet test`; CI: .ci/run). Installs what it needs, runs every
# stage even when one fails, prints a timing line per stage and a closing summary.
#   --quick        static checks, unit, preflight and integration tests, the collection build,
#                  changelog and sanity (no Docker)
#   --only STAGE   only that stage (by its name, e.g. --only "changelog"), after the installs
set -uo pipefail
OVR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export OVR_ROOT
# shellcheck source=../lab/lib.sh
. "$OVR_ROOT/lab/lib.sh"
cd "$OVR_ROOT" || exit 1

quick=false only=""
case "${1:-}" in
  --quick) quick=true ;;
  --only) only=${2:?--only needs a stage name} ;;
esac

passed=0 failed=0 failed_names=()
run() {
  [ -n "$only" ] && [ "$1" != "$only" ] && return 0
  if stage "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_names+=("$1"); fi
}

# Installing is not a test: if it fails, nothing else can run.
stage "host packages" ensure_host_packages || exit 1
stage "python venv" activate || exit 1
mkdir -p "$OVR_STATE/logs"

# What the Docker stages need: the engine, the node image, the second ansible-core's image, the
# service images in the local registry and the browser. On a fresh machine these take minutes
# (debootstrap, Debian's packages, wheels: downloads, mostly), so they are made in the background
# while the static checks, which need none of them, run (started below, once every function is
# defined); the "images" stage waits for them.
images() {
  stage "docker engine" ensure_docker && stage "node image" ensure_node_image &&
    stage "newer ansible-core image" newer_core_image && stage "service images + registry" ensure_registry &&
    stage "browser packages" ensure_browser
}
images_log="$OVR_STATE/logs/images.log" images_pid=""
wait_images() {
  local rc=0
  if [ -n "$images_pid" ]; then wait "$images_pid" || rc=$?; else images >"$images_log" 2>&1 || rc=$?; fi
  cat "$images_log"
  return $rc
}

sanity_copy() {
  # ansible-test wants the collection at .../ansible_collections/ovr/fleet, outside any other
  # git work tree (it would skip every ignored file): copy what git knows into a fresh repo.
  local top; top=$(mktemp -d /tmp/ovr-sanity.XXXXXX)
  local dest="$top/ansible_collections/ovr/fleet"
  mkdir -p "$dest"
  git ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- ./ "$dest/"
  (cd "$dest" && git init -q && git add -A) || return 1
  # ansible-test bootstraps pip in its venvs with a script from a host not reachable here.
  local pipver; pipver=$(python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g; from ansible_test._internal.host_configs import NativePythonConfig as N; print(g(N(version="3.11", path="/usr/bin/python3"))["pip"])' 2>/dev/null || echo 24.2)
  mkdir -p ~/.ansible/test/cache
  cp tests/sanity/get_pip_offline.py ~/.ansible/test/cache/get_pip_"${pipver//./_}".py
  local rc=0
  (cd "$dest" && ansible-test sanity --python 3.11 --requirements --color no) || rc=$?
  rm -rf "$top"
  return $rc
}

build_and_install() {
  # The tarball builds and installs into a clean folder with the dependencies galaxy.yml declares
  # and nothing else; its playbooks, roles and modules resolve by FQCN there; tests/packaging
  # checks its file list and the declared dependencies.
  local out="$OVR_STATE/galaxy"
  rm -rf "$out" && mkdir -p "$out/dist" "$out/collections"
  ansible-galaxy collection build --force --output-path "$out/dist" . || return 1
  local tarball; tarball=$(ls "$out"/dist/ovr-fleet-*.tar.gz) || return 1
  # No Galaxy server is reachable from here: the dependencies come from the releases the ansible
  # package bundles, and ansible-galaxy resolves galaxy.yml's version ranges against them.
  python tests/packaging/offline_requirements.py "$tarball" >"$out/requirements.yml" || return 1
  # As a user runs it: only the installed folder (neither the checkout in .collections nor the
  # collections the ansible package bundles) and no ansible.cfg of the checkout.
  printf '[defaults]\n' >"$out/ansible.cfg"
  local only=(env ANSIBLE_CONFIG="$out/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$out/collections"
    ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false)
  "${only[@]}" ansible-galaxy collection install --offline -p "$out/collections" -r "$out/requirements.yml" \
    >"$out/install.log" 2>&1 || { cat "$out/install.log" >&2; return 1; }
  grep 'was installed successfully' "$out/install.log"
  "${only[@]}" ansible-playbook -i inventories/example ovr.fleet.preflight || return 1
  "${only[@]}" python tests/packaging/resolve_by_fqcn.py inventories/example || return 1
  echo "the tarball installs with its declared dependencies only; its playbooks, roles and modules resolve by FQCN"
  ANSIBLE_CONFIG="$out/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$out/collections" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
    OVR_TARBALL="$tarball" OVR_INSTALLED="$out/collections" pytest_suite tests/packaging
}

changelog_lint() {
  # The changelog fragments and changelogs/changelog.yaml are what antsibull-changelog accepts.
  antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml &&
    echo "changelog fragments and changelog.yaml lint clean"
}

# ---- the second, newer ansible-core: Python 3.13 in the trixie node image (tests/newer-core/) ----
# Containers here cannot reach the package index: the host downloads the wheels (the lane's
# requirements and what ansible-test's sanity venvs install), the image installs them offline.
newer_core_image() {
  ensure_node_image || return 1
  local dir="$OVR_STATE/newer-core" reqs="$OVR_ROOT/tests/newer-core/requirements.txt"
  local recipe; recipe=$( { docker image inspect "$OVR_NODE_IMAGE" --format '{{ .Id }}'
    cat "$reqs" "$OVR_ROOT"/tests/newer-core/{Dockerfile,get_pip_from_wheel.py}; } | sha256sum | cut -c1-12)
  [ "$(image_recipe ovr-core2:trixie)" = "$recipe" ] && return 0
  log "building ovr-core2:trixie (tests/newer-core/requirements.txt on Python 3.13, offline)"
  rm -rf "$dir" && mkdir -p "$dir/wheels" "$dir/sanity"
  local get=(pip download -q --python-version 3.13 --only-binary=:all: -d "$dir/wheels")
  "${get[@]}" -r "$reqs" 2>&1 | grep -v '^WARNING: Location' >&2
  local core; core=$(ls "$dir"/wheels/ansible_core-*.whl) || return 1
  # ansible-test pins its sanity tests' requirements and its venvs' pip inside the wheel.
  python - "$core" "$dir/sanity" <<'PY' || return 1
import re, sys, zipfile
wheel = zipfile.ZipFile(sys.argv[1])
for name in wheel.namelist():
    if re.match(r"ansible_test/_data/requirements/sanity\..*\.txt$", name):
        open("%s/%s" % (sys.argv[2], name.rsplit("/", 1)[1]), "wb").write(wheel.read(name))
pip = re.search(r"pip='([0-9.]+)'", wheel.read("ansible_test/_internal/python_requirements.py").decode()).group(1)
open("%s/pip.txt" % sys.argv[2], "w").write("pip==%s\n" % pip)
PY
  local f
  for f in "$dir"/sanity/*.txt; do
    "${get[@]}" -r "$f" 2>&1 | grep -v '^WARNING: Location' >&2
  done
  cp "$reqs" "$OVR_ROOT"/tests/newer-core/{Dockerfile,get_pip_from_wheel.py} "$dir/"
  DOCKER_BUILDKIT=0 docker build -q --network none --build-arg "BASE=$OVR_NODE_IMAGE" --label "ovr.recipe=$recipe" \
    --label ovr.core2=1 -t ovr-core2:trixie "$dir" >"$dir/build.log" 2>&1 || { tail -20 "$dir/build.log" >&2; return 1; }
  docker image prune -f --filter label=ovr.core2=1 >/dev/null 2>&1 || true
}

newer_core() {
  # ansible-test sanity, the preflight playbook and every playbook by FQCN on the newer
  # ansible-core (tests/newer-core/in_container.sh), in a container without network.
  newer_core_image || return 1
  local top; top=$(mktemp -d /tmp/ovr-core2.XXXXXX)
  local dest="$top/ansible_collections/ovr/fleet" name="ovr-core2-$$" rc=0
  mkdir -p "$dest"
  git ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- ./ "$dest/"
  docker run --rm --name "$name" --network none -v "$top:/c" ovr-core2:trixie \
    bash /c/ansible_collections/ovr/fleet/tests/newer-core/in_container.sh || rc=$?
  docker rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$top"
  return $rc
}

pytest_suite() {
  python -m pytest -q -p no:cacheprovider "$@"
  local rc=$?
  [ $rc -eq 5 ] && { echo "pytest collected no test" >&2; return 1; }
  return $rc
}

# One Molecule scenario, its output kept in a log (Molecule is verbose); the tail is shown when
# it fails.
molecule_one() {
  local s=$1 log="$OVR_STATE/logs/molecule-$1.log" t0=$SECONDS rc=0
  molecule test -s "$s" >"$log" 2>&1 || rc=$?
  printf 'TIMING %-28s %4ds  %s\n' "molecule $s" $((SECONDS - t0)) "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc), log: $log")" >&2
  if [ $rc -ne 0 ]; then
    echo "---- last lines of $log ----" >&2
    tail -n 80 "$log" >&2
  fi
  return $rc
}

# Scenarios spend much of their time waiting on package downloads and image pulls, so they run
# in two lanes at once, each one after another: the lab cycle (the longest, the whole site: see
# lab_cycle) and then the short scenarios of LANE_AFTER_LAB in one, the multi-hop mesh scenario
# and every other scenario in the other (mesh first: the second longest).
LANE_AFTER_LAB=(collector docker gx_mqtt_sources layout)
lane() {
  local rc=0 s
  for s in "$@"; do
    if [ "$s" = lab ]; then
      local t0=$SECONDS lrc=0
      lab_cycle >"$OVR_STATE/logs/lab.log" 2>&1 || lrc=$?
      printf 'TIMING %-28s %4ds  %s\n' "lab (./fleet lab + down)" $((SECONDS - t0)) "$([ $lrc -eq 0 ] && echo ok || echo "FAILED ($lrc), log: $OVR_STATE/logs/lab.log")" >&2
      if [ $lrc -ne 0 ]; then tail -n 80 "$OVR_STATE/logs/lab.log" >&2; rc=1; else grep -A8 '^NODE' "$OVR_STATE/logs/lab.log" >&2; fi
      grep -E '^(ROLLOUT |TIMING )' "$OVR_STATE/logs/lab.log" >&2 || true
    else
      molecule_one "$s" || rc=1
    fi
  done
  return $rc
}

molecule_and_lab() {
  local others=() s
  for s in molecule/*/molecule.yml; do
    s=$(basename "$(dirname "$s")")
    [ "$s" = mesh ] || [[ " ${LANE_AFTER_LAB[*]} " == *" $s "* ]] || others+=("$s")
  done
  lane lab "${LANE_AFTER_LAB[@]}" & local a=$!
  lane mesh "${others[@]}" & local b=$!
  local rc=0
  wait $a || rc=1
  wait $b || rc=1
  return $rc
}

# The lab fleet up, the tests that need a whole fleet on it, then down whatever happened.
lab_cycle() {
  local rc=0 ee_log="$OVR_STATE/logs/ee-build.log"
  # The execution environment's build needs no lab: it runs while the lab comes up.
  stage "ee: build + push" bash "$OVR_ROOT/tests/ee/build.sh" >"$ee_log" 2>&1 &
  local ee_build=$!
  # The whole site's first run is previewed under --check on the fresh nodes (OVR_LAB_CHECK_FIRST).
  if OVR_LAB_CHECK_FIRST=1 "$OVR_ROOT/fleet" lab; then
    lab_ee "$ee_build" "$ee_log" || rc=1
    lab_ui || rc=1
    # Before the diagnosis tests (they need the chain whole; these leave it so).
    stage "site: telemetry, peers, cloud outage, smoke" pytest_suite tests/lab/test_site.py || rc=1
    stage "diagnose: each link broken in turn" pytest_suite tests/lab/test_diagnose.py || rc=1
    # After the diagnosis tests (it needs the whole chain healthy and leaves it so); its timings
    # (canary, each batch, the rollback) are printed for the CI log.
    stage "rollout: canary, batches, rollback" pytest_suite tests/lab/test_rollout.py || rc=1
    cat "$OVR_STATE/logs/rollout-timings.txt" 2>/dev/null | sed 's/^/ROLLOUT /' >&2 || true
  else
    rc=1
  fi
  wait "$ee_build" 2>/dev/null || true
  "$OVR_ROOT/fleet" lab down || rc=1
  return $rc
}

# AWX's way on the freshly provisioned lab (before anything else touches it): the execution
# environment built (skipped when its recipe is unchanged) and pushed to the local registry
# (started by lab_cycle beside the lab's bring-up: $1 its pid, $2 its log), then site.yml again
# as two ansible-runner jobs in it, one per slice of the hosts, no fact cache: they must change
# nothing and leave every node's files as the one run left them (tests/ee/).
lab_ee() {
  local brc=0
  wait "$1" || brc=$?
  cat "$2" >&2
  [ $brc -eq 0 ] || return 1
  stage "ee: site.yml in 2 runner slices" python3 "$OVR_ROOT/tests/ee/slices.py" --slices 2
}

# The UI plane on the running lab: the cutover and rollback on edge-b (over HTTP), then the
# browser tests (screenshots in $OVR_STATE/logs).
lab_ui() {
  local rc=0
  stage "ui: browser packages" ensure_browser || return 1
  stage "ui: cutover + rollback" ansible-playbook -i inventories/lab lab/ui_cutover.yml || rc=1
  stage "ui: browser tests" python lab/browser_test.py --shots "$OVR_STATE/logs" || rc=1
  return $rc
}

if ! $quick && [ -z "$only" ]; then
  images >"$images_log" 2>&1 &
  images_pid=$!
fi
run "yamllint" yamllint --strict .
run "ansible-lint" ansible-lint --offline
run "unit tests" pytest_suite tests/unit
run "preflight tests" pytest_suite tests/preflight
run "integration tests" pytest_suite tests/integration
run "collection build" build_and_install
run "changelog" changelog_lint
run "ansible-test sanity" sanity_copy
if ! $quick; then
  run "images" wait_images
  run "newer ansible-core" newer_core
  run "molecule + lab" molecule_and_lab
fi

echo
[ $failed -gt 0 ] && echo "failed stages: ${failed_names[*]}"
echo "stages: $passed passed, $failed failed"
[ $failed -eq 0 ]
