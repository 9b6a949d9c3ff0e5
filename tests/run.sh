#!/usr/bin/env bash
# The test command (README: `./fleet test`; CI: .ci/run). Installs what it needs, runs every
# stage even when one fails, prints a timing line per stage and a closing summary.
#   --quick   static checks, unit, preflight and integration tests only (no Docker)
set -uo pipefail
OVR_ROOT=$(cd "$(dirname "$0")/.." && pwd)
export OVR_ROOT
# shellcheck source=../lab/lib.sh
. "$OVR_ROOT/lab/lib.sh"
cd "$OVR_ROOT" || exit 1

quick=false
[ "${1:-}" = "--quick" ] && quick=true

passed=0 failed=0 failed_names=()
run() {
  if stage "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_names+=("$1"); fi
}

# Installing is not a test: if it fails, nothing else can run.
stage "host packages" ensure_host_packages || exit 1
stage "python venv" activate || exit 1
mkdir -p "$OVR_STATE"

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
  # The tarball builds, installs, and its playbooks and modules run by FQCN.
  local out="$OVR_STATE/galaxy"
  rm -rf "$out" && mkdir -p "$out/dist" "$out/collections"
  ansible-galaxy collection build --force --output-path "$out/dist" . &&
  ansible-galaxy collection install --force -p "$out/collections" "$out"/dist/ovr-fleet-*.tar.gz &&
  ANSIBLE_COLLECTIONS_PATH="$out/collections" ansible-playbook -i inventories/example ovr.fleet.preflight &&
  local plugin role
  for plugin in plugins/modules/*.py; do
    plugin=$(basename "$plugin" .py)
    ANSIBLE_COLLECTIONS_PATH="$out/collections" ansible-doc "ovr.fleet.$plugin" >/dev/null || return 1
  done
  for role in roles/*/; do
    role=$(basename "$role")
    ANSIBLE_COLLECTIONS_PATH="$out/collections" ansible-doc -t role "ovr.fleet.$role" >/dev/null || return 1
  done
  echo "the tarball installs; its modules, roles and playbooks resolve by FQCN"
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

# Scenarios spend most of their time waiting on package downloads and image pulls, so they run
# in two lanes at once: the whole-site scenario in one, every other scenario and then the lab
# cycle in the other (about equally long). Each lane runs its scenarios one after another.
lane() {
  local rc=0 s
  for s in "$@"; do
    if [ "$s" = lab ]; then
      local t0=$SECONDS lrc=0
      lab_cycle >"$OVR_STATE/logs/lab.log" 2>&1 || lrc=$?
      printf 'TIMING %-28s %4ds  %s\n' "lab (./fleet lab + down)" $((SECONDS - t0)) "$([ $lrc -eq 0 ] && echo ok || echo "FAILED ($lrc), log: $OVR_STATE/logs/lab.log")" >&2
      if [ $lrc -ne 0 ]; then tail -n 80 "$OVR_STATE/logs/lab.log" >&2; rc=1; else grep -A8 '^NODE' "$OVR_STATE/logs/lab.log" >&2; fi
    else
      molecule_one "$s" || rc=1
    fi
  done
  return $rc
}

molecule_and_lab() {
  mkdir -p "$OVR_STATE/logs"
  local others=() s
  for s in molecule/*/molecule.yml; do
    s=$(basename "$(dirname "$s")")
    [ "$s" = site ] || others+=("$s")
  done
  lane site & local a=$!
  lane "${others[@]}" lab & local b=$!
  local rc=0
  wait $a || rc=1
  wait $b || rc=1
  return $rc
}

lab_cycle() {
  "$OVR_ROOT/fleet" lab && "$OVR_ROOT/fleet" lab down
}

run "yamllint" yamllint --strict .
run "ansible-lint" ansible-lint --offline
run "unit tests" pytest_suite tests/unit
run "preflight tests" pytest_suite tests/preflight
run "integration tests" pytest_suite tests/integration
run "collection build" build_and_install
run "ansible-test sanity" sanity_copy
if ! $quick; then
  run "docker engine" ensure_docker
  run "node image" ensure_node_image
  run "service images + registry" ensure_registry
  run "molecule + lab" molecule_and_lab
fi

echo
[ $failed -gt 0 ] && echo "failed stages: ${failed_names[*]}"
echo "stages: $passed passed, $failed failed"
[ $failed -eq 0 ]
