# -*- coding: utf-8 -*-
"""ovr.fleet.identity for real: ansible-playbook on this machine (connection local) for a small fleet
(edge-a and edge-b of site_t, cloud-1), each host's identity_dir and the controller's PKI folder in a
temp folder. What an operator checks: --check on a fresh fleet writes nothing; the first run makes
each node's key (0600, never in the output) and a certificate that `openssl verify` accepts, for that
key, with the node's names and usages; the second run changes nothing; a certificate near its expiry
is renewed with the same key; a revoked node, taken out of the inventory, leaves the cloud's map and
enters its CRL after a run on the cloud alone."""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from conftest import REPO

pytestmark = pytest.mark.slow

HOSTS = ("cloud-1", "edge-a", "edge-b")
PLAY = [{"name": "Identity", "hosts": "all", "gather_facts": False, "roles": [{"role": "ovr.fleet.identity"}]}]


class Fleet(object):
    def __init__(self, root):
        self.root = str(root)
        self.pki = os.path.join(self.root, "pki")
        self.playbook = os.path.join(self.root, "play.yml")
        with open(self.playbook, "w") as handle:
            yaml.safe_dump(PLAY, handle)
        with open(os.path.join(self.root, "ansible.cfg"), "w") as handle:
            handle.write("[defaults]\n")
        self.write_inventory()

    def tls(self, host, name=""):
        return os.path.join(self.root, "nodes", host, "tls", name)

    def write_inventory(self, revoked=None, edges=("edge-a", "edge-b")):
        hosts = {"edge-a": {"ovr_node_id": 1}, "edge-b": {"ovr_node_id": 2}, "edge-c": {"ovr_node_id": 3}}
        inventory = {"all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                     "identity_packages": [], "identity_pki_dir": self.pki,
                     "identity_dir": self.root + "/nodes/{{ inventory_hostname }}/tls",
                     "ovr_identity_revoked": revoked or []},
            "children": {
                "edge": {"children": {"site_t": {"vars": {"ovr_site_id": 3, "ovr_site_name": "Test"},
                                                 "hosts": dict((h, hosts[h]) for h in edges)}}},
                "cloud": {"hosts": {"cloud-1": {"identity_cert_sans": ["fleet.example.net"]}}}}}}
        self.inventory = os.path.join(self.root, "inventory.yml")
        with open(self.inventory, "w") as handle:
            yaml.safe_dump(inventory, handle)

    def play(self, *args):
        home = os.path.join(self.root, "ansible-home")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_HOME=home,
                   ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"), ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_CONFIG=os.path.join(self.root, "ansible.cfg"), ANSIBLE_FORKS="5")
        proc = subprocess.run(["ansible-playbook", "-i", self.inventory, self.playbook] + list(args), env=env, cwd=self.root,
                              capture_output=True, text=True, timeout=300, check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-4000:]
        changed = dict((h, int(c)) for h, c in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", out, re.M))
        return changed, out


def load(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def openssl(*args):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the role installs files owned by root")
    if not shutil.which("openssl"):
        pytest.skip("no openssl")
    fleet = Fleet(tmp_path_factory.mktemp("identity"))
    fleet.check = fleet.play("--check")
    fleet.left_by_check = sorted(os.listdir(fleet.root))
    fleet.first = fleet.play()
    fleet.second = fleet.play()
    return fleet


def test_check_on_a_fresh_fleet_says_what_it_would_do_and_writes_nothing(fleet):
    changed, out = fleet.check
    assert all(changed[h] > 0 for h in HOSTS), out
    assert fleet.left_by_check == ["ansible-home", "ansible.cfg", "inventory.yml", "play.yml"]


def test_the_first_run_makes_a_key_on_each_node_and_never_shows_it(fleet):
    changed, out = fleet.first
    assert all(changed[h] > 0 for h in HOSTS), out
    for host in HOSTS:
        key = fleet.tls(host, "node.key")
        info = os.stat(key)
        assert oct(info.st_mode & 0o777) == "0o600" and info.st_uid == 0, host
        with open(key) as handle:
            body = "".join(line for line in handle.read().splitlines() if not line.startswith("-----"))
        for chunk in (body[:40], body[-40:]):
            assert chunk not in out
    assert "PRIVATE KEY" not in out
    # the controller holds the CA key (0600) and the certificates issued, never a node's key
    assert oct(os.stat(os.path.join(fleet.pki, "ca.key")).st_mode & 0o777) == "0o600"
    assert oct(os.stat(fleet.pki).st_mode & 0o777) == "0o700"
    on_controller = [n for _d, _s, names in os.walk(fleet.pki) for n in names]
    assert sorted(on_controller) == sorted(["ca.key", "ca.crt", "crl.pem"] + [
        n for h in HOSTS for n in os.listdir(os.path.join(fleet.pki, "issued", h))])
    for host in HOSTS:
        assert len(os.listdir(os.path.join(fleet.pki, "issued", host))) == 1


def test_each_certificate_verifies_and_names_its_node(fleet):
    for host in HOSTS:
        result = openssl("verify", "-CAfile", fleet.tls(host, "ca.crt"), fleet.tls(host, "node.crt"))
        assert result.returncode == 0 and result.stdout.strip().endswith(": OK"), result
        cert = load(fleet.tls(host, "node.crt"))
        assert cert.subject.rfc4514_string() == "CN=%s" % host
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        usages = sorted(u.dotted_string for u in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        if host == "cloud-1":
            assert sans == ["cloud-1", "fleet.example.net"] and usages == ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]
        else:
            assert sans == [host] and usages == ["1.3.6.1.5.5.7.3.2"]
        # for the node's own key
        pub = openssl("pkey", "-in", fleet.tls(host, "node.key"), "-pubout").stdout
        assert pub == cert.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        days = (cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)).days
        assert 363 <= days <= 365


def test_the_cloud_publishes_the_map_of_every_active_certificate_and_an_empty_crl(fleet):
    published = json.load(open(fleet.tls("cloud-1", "clients.json")))
    want = dict((load(fleet.tls(h, "node.crt")).fingerprint(hashes.SHA256()).hex(), h) for h in HOSTS)
    assert dict((fp, v["node"]) for fp, v in published["clients"].items()) == want
    edge_b = published["clients"][[fp for fp, h in want.items() if h == "edge-b"][0]]
    assert (edge_b["site"], edge_b["site_group"], edge_b["node_id"], edge_b["kind"]) == ("Test", "site_t", 2, "edge")
    assert published["ca"] == [load(fleet.tls("cloud-1", "ca.crt")).fingerprint(hashes.SHA256()).hex()]
    crl = openssl("crl", "-in", fleet.tls("cloud-1", "clients.crl"), "-noout", "-text").stdout
    assert "No Revoked Certificates" in crl
    assert not os.path.exists(fleet.tls("edge-a", "clients.json"))


def test_the_second_run_changes_nothing(fleet):
    changed, out = fleet.second
    assert changed == dict.fromkeys(HOSTS, 0), out


def short_lived(fleet, host, days):
    """The node's certificate replaced by one the identity CA signed for ``days`` only (same key)."""
    with open(os.path.join(fleet.pki, "ca.key"), "rb") as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), None)
    ca = load(os.path.join(fleet.pki, "ca.crt"))
    old = load(fleet.tls(host, "node.crt"))
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(ca.subject).public_key(old.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=days)))
    for ext in old.extensions:
        if not isinstance(ext.value, (x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier)):
            builder = builder.add_extension(ext.value, critical=ext.critical)
    cert = builder.sign(ca_key, hashes.SHA256())
    with open(fleet.tls(host, "node.crt"), "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert


@pytest.fixture(scope="module")
def renewed(fleet):
    key_before = open(fleet.tls("edge-a", "node.key")).read()
    short = short_lived(fleet, "edge-a", 5)
    changed, out = fleet.play("--limit", "edge-a,cloud-1")
    return {"short": short, "changed": changed, "out": out, "key_before": key_before}


def test_a_certificate_near_its_expiry_is_renewed_with_the_same_key(fleet, renewed):
    assert renewed["changed"]["edge-a"] > 0, renewed["out"]
    assert re.search(r"Sign \(it expires \S+, within identity_cert_renew_before \(30 days\)\)", renewed["out"])
    cert = load(fleet.tls("edge-a", "node.crt"))
    assert cert.serial_number != renewed["short"].serial_number
    assert (cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)).days >= 363
    assert open(fleet.tls("edge-a", "node.key")).read() == renewed["key_before"]
    assert openssl("verify", "-CAfile", fleet.tls("edge-a", "ca.crt"), fleet.tls("edge-a", "node.crt")).returncode == 0
    assert len(os.listdir(os.path.join(fleet.pki, "issued", "edge-a"))) == 2
    # the renewed certificate is in the cloud's map of the same run, beside the short-lived one
    # (still valid until it expires: a node picks up its new certificate without a gap)
    nodes = json.load(open(fleet.tls("cloud-1", "clients.json")))["clients"]
    assert cert.fingerprint(hashes.SHA256()).hex() in nodes


@pytest.fixture(scope="module")
def new_node_checked(fleet, renewed):  # pylint: disable=unused-argument
    """edge-c joins a fleet whose CA exists: first a --check run on it."""
    fleet.write_inventory(edges=("edge-a", "edge-b", "edge-c"))
    changed, out = fleet.play("--check", "--limit", "edge-c")
    fleet.write_inventory()
    return changed, out


def test_check_on_a_new_node_of_a_running_fleet_says_it_would_sign_and_writes_nothing(fleet, new_node_checked):
    changed, out = new_node_checked
    assert changed == {"edge-c": 3}, out  # the key, the signature, the files
    assert "edge-c: would sign a certificate (no certificate yet)" in out
    assert not os.path.exists(os.path.join(fleet.root, "nodes", "edge-c"))
    assert not os.path.exists(os.path.join(fleet.pki, "issued", "edge-c"))


@pytest.fixture(scope="module")
def revoked(fleet, new_node_checked):  # pylint: disable=unused-argument
    """edge-b is stolen: out of the inventory, in ovr_identity_revoked; a run on the cloud alone."""
    fleet.write_inventory(revoked=[{"name": "edge-b", "reason": "key_compromise", "note": "stolen"}], edges=("edge-a",))
    first = fleet.play("--limit", "cloud-1")
    second = fleet.play("--limit", "cloud-1")
    return first, second


def test_a_revoked_node_leaves_the_map_and_enters_the_crl_after_a_run_on_the_cloud_alone(fleet, revoked):
    (changed, out), (again, out_again) = revoked
    assert changed == {"cloud-1": 2}, out  # the CRL on the controller, the files on the cloud
    edge_b = load(fleet.tls("edge-b", "node.crt"))
    nodes = dict((fp, v["node"]) for fp, v in json.load(open(fleet.tls("cloud-1", "clients.json")))["clients"].items())
    assert edge_b.fingerprint(hashes.SHA256()).hex() not in nodes and "edge-b" not in nodes.values()
    assert "edge-a" in nodes.values() and "cloud-1" in nodes.values()
    refused = openssl("verify", "-crl_check", "-CRLfile", fleet.tls("cloud-1", "clients.crl"),
                      "-CAfile", fleet.tls("cloud-1", "ca.crt"), fleet.tls("edge-b", "node.crt"))
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr, refused
    accepted = openssl("verify", "-crl_check", "-CRLfile", fleet.tls("cloud-1", "clients.crl"),
                       "-CAfile", fleet.tls("cloud-1", "ca.crt"), fleet.tls("edge-a", "node.crt"))
    assert accepted.returncode == 0, accepted
    assert again == {"cloud-1": 0}, out_again
