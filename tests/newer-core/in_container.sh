#!/usr/bin/env bash
# Runs inside the newer-ansible-core lane's container (tests/run.sh, stage "newer ansible-core"),
# without network, on a copy of the collection at /c/ansible_collections/ovr/fleet:
#   1. ansible-test sanity on Python 3.13 (tests/sanity/ignore-<core minor>.txt);
#   2. the tarball built and installed beside the collections the ansible package bundles (as a
#      user of that package has them), its preflight playbook on the example inventory (passes)
#      and on a bad inventory (stops before any host), every playbook syntax-checked by FQCN,
#      every module and role documented;
#   3. tests/packaging/test_dependencies.py against the bundled collections' releases.
set -euo pipefail
cd /c/ansible_collections/ovr/fleet
export ANSIBLE_HOME=/tmp/ansible-home ANSIBLE_LOCAL_TEMP=/tmp/ansible-tmp ANSIBLE_NOCOLOR=1
printf '[defaults]\n' >/tmp/ansible.cfg
export ANSIBLE_CONFIG=/tmp/ansible.cfg
python --version
ansible --version | head -1
step() { printf '==> %s\n' "$*"; }
t0=$SECONDS

step "ansible-test sanity --python 3.13"
# (the image holds the pip bootstrap stand-in and the sanity venvs: tests/newer-core/Dockerfile)
ansible-test sanity --python 3.13 --requirements --color no
echo "sanity: $((SECONDS - t0)) s"

t1=$SECONDS
step "the tarball, beside the collections the ansible package bundles"
out=/tmp/galaxy
mkdir -p "$out/dist" "$out/collections"
ansible-galaxy collection build --output-path "$out/dist" . >/dev/null
ansible-galaxy collection install --offline --no-deps -p "$out/collections" "$out"/dist/ovr-fleet-*.tar.gz |
  grep 'installed successfully'
export ANSIBLE_COLLECTIONS_PATH="$out/collections"

step "preflight on the example inventory"
ansible-playbook -i inventories/example ovr.fleet.preflight >"$out/preflight-good.log" ||
  { cat "$out/preflight-good.log"; exit 1; }
grep -o 'Fleet preflight passed: [^"]*' "$out/preflight-good.log"

step "preflight on a bad inventory (tests/preflight/inventories/bad.ini)"
rc=0
ansible-playbook -i tests/preflight/inventories/bad.ini ovr.fleet.preflight >"$out/preflight-bad.log" 2>&1 || rc=$?
recap=$(sed -n '/^PLAY RECAP/,$p' "$out/preflight-bad.log" | grep -c ' : ok=' || true)
if [ "$rc" -eq 0 ] || [ "$recap" -ne 1 ] || ! grep -q 'localhost .*failed=1' "$out/preflight-bad.log" ||
   ! grep -q 'edge-b' "$out/preflight-bad.log" || ! grep -q 'ovr_node_id' "$out/preflight-bad.log"; then
  cat "$out/preflight-bad.log"
  echo "the preflight did not stop the bad inventory on localhost alone, naming edge-b and ovr_node_id" >&2
  exit 1
fi
echo "stopped with rc=$rc on localhost alone (no host contacted), naming edge-b and ovr_node_id"

step "every playbook, module and role by FQCN"
python tests/packaging/resolve_by_fqcn.py inventories/example

step "galaxy.yml's dependencies against the bundled releases"
ansible-galaxy collection list 2>/dev/null | grep -E '^community\.(docker|general|crypto) ' || true
python -m pytest -q -p no:cacheprovider tests/packaging/test_dependencies.py
echo "playbooks and tests: $((SECONDS - t1)) s"
