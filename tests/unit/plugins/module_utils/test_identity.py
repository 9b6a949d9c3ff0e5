# -*- coding: utf-8 -*-
"""Unit tests for plugins/module_utils/identity.py (the node identity rules) and its filters
(plugins/filter/identity.py, plugins/filter/fleet.py's preflight filters).

Certificates, requests and CAs are made here with cryptography, as the role makes them: EC keys,
CN and DNS names = the node, extended key usages, issued by the CA in use."""

import datetime

import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.ovr.fleet.plugins.filter import fleet as fleet_filter
from ansible_collections.ovr.fleet.plugins.filter import identity as identity_filter
from ansible_collections.ovr.fleet.plugins.module_utils import identity

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
USAGE_OIDS = {"clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH, "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH}


def pem(obj):
    return obj.public_bytes(serialization.Encoding.PEM).decode("ascii")


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


class CA(object):
    def __init__(self, name="ovr.fleet node identity CA", days=3650):
        self.key = new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(NOW - DAY).not_valid_after(NOW + days * DAY)
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.pem = pem(self.cert)

    def issue(self, key, cn, sans=None, usages=("clientAuth",), days=365, ca=False):
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                   .issuer_name(self.cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - DAY).not_valid_after(NOW + days * DAY)
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        names = sans if sans is not None else [cn]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage([USAGE_OIDS[u] for u in usages]), critical=False)
        return pem(builder.sign(self.key, hashes.SHA256()))


def csr(key, cn, sans=None, usages=("clientAuth",), ca=False, extra=None, subject=None):
    names = sans if sans is not None else [cn]
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage([USAGE_OIDS[u] for u in usages]), critical=False)
    if extra is not None:
        builder = builder.add_extension(extra, critical=False)
    return pem(builder.sign(key, hashes.SHA256()))


def fingerprint(cert_pem):
    return x509.load_pem_x509_certificate(cert_pem.encode()).fingerprint(hashes.SHA256()).hex()


@pytest.fixture(scope="module")
def ca():
    return CA()


@pytest.fixture(scope="module")
def node_key():
    return new_key()


# --- cert_check: why a certificate must be re-signed ------------------------------------------

def check(cert_pem, csr_pem, name="edge-a", **kwargs):
    kwargs.setdefault("now", NOW)
    return identity.cert_check(cert_pem, csr_pem, name, **kwargs)


def test_a_good_certificate_needs_nothing(ca, node_key):
    cert = ca.issue(node_key, "edge-a")
    assert check(cert, csr(node_key, "edge-a"), ca_pem=ca.pem) == {"reasons": [], "rekey": False}


def test_no_certificate_yet(ca, node_key):
    assert check("", csr(node_key, "edge-a"), ca_pem=ca.pem) == {"reasons": ["no certificate yet"], "rekey": False}
    assert check("", "", ca_pem=ca.pem)["reasons"] == ["no certificate yet"]  # --check on a fresh host


def test_an_unreadable_certificate_is_re_signed(ca):
    garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
    assert check(garbage, "", ca_pem=ca.pem)["reasons"] == ["the certificate cannot be read"]


def test_each_mismatch_is_a_reason(ca, node_key):
    cert = ca.issue(node_key, "edge-b", sans=["edge-b", "x.example"], usages=("serverAuth",))
    reasons = check(cert, csr(node_key, "edge-a"), ca_pem=ca.pem)["reasons"]
    assert reasons == ["subject CN 'edge-b', want 'edge-a'", "DNS names edge-b,x.example, want edge-a",
                       "extended key usage serverAuth, want clientAuth"]


def test_the_wanted_sans_and_usages_count(ca, node_key):
    cert = ca.issue(node_key, "cloud-1", sans=["cloud-1", "fleet.example.net"], usages=("clientAuth", "serverAuth"))
    assert check(cert, "", name="cloud-1", sans=["fleet.example.net"], usages=["serverAuth", "clientAuth"],
                 ca_pem=ca.pem)["reasons"] == []
    assert check(cert, "", name="cloud-1", ca_pem=ca.pem)["reasons"] == [
        "DNS names cloud-1,fleet.example.net, want cloud-1", "extended key usage clientAuth,serverAuth, want clientAuth"]


def test_another_key_than_the_nodes(ca, node_key):
    cert = ca.issue(node_key, "edge-a")
    assert check(cert, csr(new_key(), "edge-a"), ca_pem=ca.pem)["reasons"] == ["it is for another key than the node's"]


def test_another_ca(ca, node_key):
    cert = CA(name="ovr.fleet node identity CA").issue(node_key, "edge-a")  # same name, other key
    assert check(cert, "", ca_pem=ca.pem)["reasons"] == [
        "it was not issued by the identity CA in use (issuer 'ovr.fleet node identity CA')"]


def test_near_expiry_is_renewed(ca, node_key):
    cert = ca.issue(node_key, "edge-a", days=10)
    reasons = check(cert, "", ca_pem=ca.pem, renew_before_days=30)["reasons"]
    assert len(reasons) == 1 and reasons[0].endswith("within identity_cert_renew_before (30 days)"), reasons
    assert check(cert, "", ca_pem=ca.pem, renew_before_days=5)["reasons"] == []


def test_a_revoked_certificate_asks_for_a_new_key(ca, node_key):
    cert = ca.issue(node_key, "edge-a")
    fp = fingerprint(cert)
    colons = ":".join(fp[i:i + 2] for i in range(0, 64, 2)).upper()
    revoked = [{"name": "edge-a", "reason": "key_compromise", "fingerprint": colons}]
    result = check(cert, csr(node_key, "edge-a"), ca_pem=ca.pem, revoked=revoked)
    assert result == {"reasons": ["it is revoked by ovr_identity_revoked[0] (key_compromise): a new key and certificate"],
                      "rekey": True}
    other = [{"name": "edge-a", "reason": "key_compromise", "fingerprint": "ab" * 32}]
    assert check(cert, "", ca_pem=ca.pem, revoked=other) == {"reasons": [], "rekey": False}


def test_a_revoked_node_gets_no_certificate(ca, node_key):
    with pytest.raises(ValueError, match=r"edge-a is revoked by ovr_identity_revoked\[0\] \(cessation_of_operation\)"):
        check("", "", revoked=[{"name": "edge-a", "reason": "cessation_of_operation"}])


# --- csr_check: what the controller signs -----------------------------------------------------

def test_a_request_as_the_role_makes_it_is_signed(node_key):
    request = csr(node_key, "edge-a")
    assert identity.csr_check(request, "edge-a") == request
    both = csr(node_key, "cloud-1", sans=["cloud-1", "fleet.example.net"], usages=("clientAuth", "serverAuth"))
    assert identity.csr_check(both, "cloud-1", sans=["fleet.example.net"], usages=["clientAuth", "serverAuth"]) == both


@pytest.mark.parametrize("request_of, reason", [
    (lambda k: csr(k, "edge-b", sans=["edge-b"]), "subject CN=edge-b, want CN=edge-a"),
    (lambda k: csr(k, "edge-a", sans=["edge-a", "edge-b"]), "DNS names edge-a,edge-b, want edge-a"),
    (lambda k: csr(k, "edge-a", usages=("clientAuth", "serverAuth")), "extended key usage clientAuth,serverAuth, want clientAuth"),
    (lambda k: csr(k, "edge-a", ca=True), "it asks to be a CA"),
    (lambda k: csr(k, "edge-a", extra=x509.SubjectKeyIdentifier(b"\x01" * 20)), "it asks for other extensions (2.5.29.14)"),
    (lambda k: csr(k, "edge-a", subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge-a"),
                                                   x509.NameAttribute(NameOID.ORGANIZATION_NAME, "x")])),
     "subject O=x,CN=edge-a, want CN=edge-a"),
])
def test_a_request_asking_for_more_is_refused(node_key, request_of, reason):
    with pytest.raises(ValueError) as info:
        identity.csr_check(request_of(node_key), "edge-a")
    assert str(info.value).startswith("edge-a: the node's certificate request is refused, nothing was signed: ")
    assert reason in str(info.value)


def test_a_request_with_a_broken_signature_is_refused(node_key):
    good = x509.load_pem_x509_csr(csr(node_key, "edge-a").encode())
    der = bytearray(good.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature
    broken = x509.load_der_x509_csr(bytes(der))
    with pytest.raises(ValueError, match="its signature does not hold"):
        identity.csr_check(pem(broken), "edge-a")


def test_no_request_is_refused():
    with pytest.raises(ValueError, match="edge-a: no certificate request to sign"):
        identity.csr_check("", "edge-a")


# --- the revocation list -----------------------------------------------------------------------

def test_the_revocation_list_is_read_and_normalised():
    entries, errors = identity.parse_revoked([
        {"name": "Edge-B", "reason": "key_compromise", "note": "stolen", "date": "2026-11-30"},
        {"name": "edge-a", "reason": "superseded", "fingerprint": "AB:" * 31 + "AB"}])
    assert errors == []
    assert entries[0] == {"index": 0, "name": "edge-b", "reason": "key_compromise", "fingerprint": None,
                          "date": "2026-11-30", "note": "stolen"}
    assert entries[1]["fingerprint"] == "ab" * 32


@pytest.mark.parametrize("value, message", [
    ("edge-b", "ovr_identity_revoked must be a list of {name, reason, fingerprint?}, got a string"),
    (["edge-b"], "ovr_identity_revoked[0] must be a dict {name, reason, fingerprint?}, got a string"),
    ([{"reason": "key_compromise"}], "ovr_identity_revoked[0] needs the name of the node"),
    ([{"name": "edge-b", "reason": "stolen"}], "ovr_identity_revoked[0] (edge-b) reason must be one of unspecified, key_compromise"),
    ([{"name": "edge-b", "reason": "key_compromise", "fingerprint": "abc"}],
     "ovr_identity_revoked[0] (edge-b) fingerprint must be a SHA-256 fingerprint (64 hex digits, colons allowed), got 'abc'"),
    ([{"name": "edge-b", "reason": "key_compromise", "when": "now"}], "ovr_identity_revoked[0] has unknown key(s) when"),
    ([{"name": "edge-b", "reason": "key_compromise", "date": "30.11.2026"}], "ovr_identity_revoked[0] (edge-b) date must be YYYY-MM-DD"),
    ([{"name": "edge-b", "reason": "key_compromise"}, {"name": "edge-b", "reason": "superseded"}],
     "ovr_identity_revoked[1] (edge-b) repeats ovr_identity_revoked[0]"),
])
def test_a_bad_revocation_list_names_the_entry(value, message):
    dummy, errors = identity.parse_revoked(value)
    assert len(errors) == 1 and errors[0].startswith(message), errors


# --- the preflight ------------------------------------------------------------------------------

def inventory(**extra):
    north = {"ovr_site_id": 1, "ovr_site_name": "North"}
    hostvars = {"edge-a": dict(north, ovr_node_id=1), "edge-b": dict(north, ovr_node_id=2), "cloud-1": {}}
    for host, values in extra.items():
        hostvars[host.replace("_", "-")].update(values)
    groups = {"all": sorted(hostvars), "edge": ["edge-a", "edge-b"], "site_north": ["edge-a", "edge-b"],
              "cloud": ["cloud-1"]}
    return hostvars, groups


def with_revoked(hostvars, value):
    for host in hostvars:
        hostvars[host]["ovr_identity_revoked"] = value
    return hostvars


def test_a_valid_inventory_has_no_identity_error():
    hostvars, groups = inventory()
    assert identity.validate_fleet(hostvars, groups).errors == []
    with_revoked(hostvars, [{"name": "edge-z", "reason": "key_compromise"},
                            {"name": "edge-a", "reason": "key_compromise", "fingerprint": "ab" * 32}])
    assert identity.validate_fleet(hostvars, groups).errors == []


def test_a_revoked_node_still_listed_is_refused():
    hostvars, groups = inventory()
    with_revoked(hostvars, [{"name": "edge-b", "reason": "key_compromise"}, {"name": "cloud-1", "reason": "superseded"}])
    assert identity.validate_fleet(hostvars, groups).errors == [
        "cloud-1: is revoked by ovr_identity_revoked[1] (superseded) but is still in group cloud: remove it from the "
        "inventory's cloud group (it is cut off then), or give the entry the fingerprint of the one certificate to revoke",
        "edge-b (site_north): is revoked by ovr_identity_revoked[0] (key_compromise) but is still in group edge: remove it "
        "from the inventory's edge group (it is cut off then), or give the entry the fingerprint of the one certificate "
        "to revoke"]


def test_the_revocation_list_must_be_fleet_wide():
    hostvars, groups = inventory()
    hostvars["cloud-1"]["ovr_identity_revoked"] = [{"name": "edge-z", "reason": "key_compromise"}]
    errors = identity.validate_fleet(hostvars, groups).errors
    assert len(errors) == 1 and errors[0].startswith("ovr_identity_revoked differs between hosts (")
    assert errors[0].endswith("set it once, in group_vars/all") and "not set on edge-a, edge-b" in errors[0]


def test_a_bad_revocation_list_fails_the_preflight():
    hostvars, groups = with_revoked(inventory()[0], [{"name": "edge-z", "reason": "lost"}]), inventory()[1]
    errors = identity.validate_fleet(hostvars, groups).errors
    assert len(errors) == 1 and errors[0].startswith("ovr_identity_revoked[0] (edge-z) reason must be one of")


def test_a_certificate_name_claimed_twice_is_refused():
    hostvars, groups = inventory(cloud_1={"identity_cert_sans": ["fleet.example.net", "edge-a"]},
                                 edge_b={"identity_cert_sans": ["FLEET.example.net"]})
    assert identity.validate_fleet(hostvars, groups).errors == [
        "edge-a (site_north): certificate name 'edge-a' (from its inventory hostname) is also cloud-1's (from its "
        "identity_cert_sans): a certificate subject names one node only",
        "edge-b (site_north): certificate name 'fleet.example.net' (from its identity_cert_sans) is also cloud-1's "
        "(from its identity_cert_sans): a certificate subject names one node only"]


def test_cloud_names_differing_in_case_only_are_one_subject():
    hostvars, groups = inventory()
    hostvars["Cloud-1"] = {}
    groups["cloud"].append("Cloud-1")
    errors = identity.validate_fleet(hostvars, groups).errors
    assert any(e.startswith("cloud-1: certificate name 'cloud-1' (from its inventory hostname) is also Cloud-1's")
               for e in errors), errors


@pytest.mark.parametrize("sans, message", [
    ("fleet.example.net", "identity_cert_sans must be a list of DNS names, got a string"),
    (["fleet..example.net"], "identity_cert_sans[0] 'fleet..example.net' is not a valid host name"),
    (["10.0.0.1:443"], "identity_cert_sans[0] '10.0.0.1:443' is not a DNS name"),
    (["cloud-1"], "identity_cert_sans[0] 'cloud-1' is already one of its certificate names"),
])
def test_bad_sans_name_the_host_and_the_variable(sans, message):
    hostvars, groups = inventory(cloud_1={"identity_cert_sans": sans})
    errors = identity.validate_fleet(hostvars, groups).errors
    assert len(errors) == 1 and errors[0].startswith("cloud-1: " + message), errors


def test_the_preflight_filters_carry_the_identity_checks():
    hostvars, groups = inventory()
    with_revoked(hostvars, [{"name": "edge-b", "reason": "key_compromise"}])
    assert fleet_filter.fleet_errors(hostvars, groups)[0].startswith("edge-b (site_north): is revoked by")
    model = fleet_filter.fleet_model(hostvars, groups)
    assert model["errors"] == fleet_filter.fleet_errors(hostvars, groups) and model["cloud"] == ["cloud-1"]


# --- publish: the map and the CRL from the records alone ----------------------------------------

@pytest.fixture(scope="module")
def fleet(ca):
    """Certificates on record: edge-a (two: renewed), edge-b, cloud-1, edge-gone (left the inventory),
    one expired, one of another CA."""
    keys = dict((n, new_key()) for n in ("edge-a", "edge-b", "cloud-1", "edge-gone"))
    records = {
        "edge-a-old": ca.issue(keys["edge-a"], "edge-a", days=20),
        "edge-a": ca.issue(keys["edge-a"], "edge-a"),
        "edge-b": ca.issue(keys["edge-b"], "edge-b"),
        "cloud-1": ca.issue(keys["cloud-1"], "cloud-1", usages=("clientAuth", "serverAuth")),
        "edge-gone": ca.issue(keys["edge-gone"], "edge-gone"),
        "expired": ca.issue(keys["edge-b"], "edge-b", days=-1),
        "foreign": CA().issue(keys["edge-b"], "edge-b"),
    }
    return records


def published(fleet, ca, revoked=None, names=None, **inv):
    hostvars, groups = inventory(**inv)
    if revoked is not None:
        with_revoked(hostvars, revoked)
    pems = [fleet[n] for n in (names or sorted(fleet))]
    return identity.publish(hostvars, groups, pems, revoked=revoked, ca_pems=[ca.pem], now=NOW)


def test_the_map_holds_the_active_certificates_only(fleet, ca):
    out = published(fleet, ca)
    by_node = sorted((v["node"], k) for k, v in out["clients"].items())
    assert by_node == sorted([("edge-a", fingerprint(fleet["edge-a-old"])), ("edge-a", fingerprint(fleet["edge-a"])),
                              ("edge-b", fingerprint(fleet["edge-b"])), ("cloud-1", fingerprint(fleet["cloud-1"]))])
    entry = out["clients"][fingerprint(fleet["edge-b"])]
    assert entry["site"] == "North" and entry["site_group"] == "site_north" and entry["node_id"] == 2
    assert entry["kind"] == "edge" and entry["site_id"] == 1
    assert out["clients"][fingerprint(fleet["cloud-1"])]["kind"] == "cloud"
    assert out["crl"] == [] and out["revoked"] == []
    assert out["warnings"] == ["edge-gone: is in neither edge nor cloud but 1 unexpired certificate(s) of it are on "
                               "record: left out of the map; list it in ovr_identity_revoked to put them in the CRL"]


def test_a_revoked_node_leaves_the_map_and_enters_the_crl(fleet, ca):
    revoked = [{"name": "edge-gone", "reason": "key_compromise", "date": "2026-11-30"}]
    out = published(fleet, ca, revoked=revoked)
    assert "edge-gone" not in [v["node"] for v in out["clients"].values()]
    serial = x509.load_pem_x509_certificate(fleet["edge-gone"].encode()).serial_number
    assert out["crl"] == [{"serial_number": serial, "reason": "key_compromise", "revocation_date": "20261130000000Z"}]
    assert out["revoked"][0]["node"] == "edge-gone" and out["revoked"][0]["fingerprint"] == fingerprint(fleet["edge-gone"])
    assert out["warnings"] == []


def test_one_revoked_certificate_leaves_the_nodes_others_in_the_map(fleet, ca):
    revoked = [{"name": "edge-a", "reason": "key_compromise", "fingerprint": fingerprint(fleet["edge-a-old"])}]
    out = published(fleet, ca, revoked=revoked, names=["edge-a-old", "edge-a", "edge-b", "cloud-1"])
    nodes = dict((k, v["node"]) for k, v in out["clients"].items())
    assert fingerprint(fleet["edge-a"]) in nodes and fingerprint(fleet["edge-a-old"]) not in nodes
    assert [e["revocation_date"] for e in out["crl"]] == ["+0s"]


def test_a_node_without_a_certificate_and_an_entry_without_a_record_are_warned_about(fleet, ca):
    out = published(fleet, ca, revoked=[{"name": "edge-z", "reason": "key_compromise"}], names=["edge-a", "cloud-1"])
    assert out["warnings"] == [
        "edge-b (site_north): has no valid identity certificate on record yet; it is refused until a run of "
        "ovr.fleet.identity on it",
        "ovr_identity_revoked[0] (edge-z): no unexpired certificate on record matches it (nothing to put in the CRL; "
        "what is not on record is not in the map either)"]


def test_the_records_are_read_from_the_pki_folder(fleet, ca, tmp_path):
    for name in ("edge-a", "edge-b"):
        folder = tmp_path / "issued" / name
        folder.mkdir(parents=True)
        (folder / ("%s.crt" % name)).write_text(fleet[name])
    (tmp_path / "issued" / "README").write_text("not a record")
    hostvars, groups = inventory()
    out = identity.publish(hostvars, groups, str(tmp_path / "issued"), ca_pems=[ca.pem], now=NOW)
    assert sorted(v["node"] for v in out["clients"].values()) == ["edge-a", "edge-b"]
    assert identity.read_records(str(tmp_path / "nothing")) == []


def test_publish_refuses_an_invalid_inventory(fleet, ca):
    hostvars, groups = inventory(edge_b={"ovr_node_id": 1})
    with pytest.raises(AnsibleFilterError, match="_identity_publish: the inventory is invalid"):
        identity_filter.publish(hostvars, groups, [], ca_pems=[ca.pem])


# --- the CA and the CRL's due date ----------------------------------------------------------------

def test_ca_status(ca):
    status = identity.ca_status(ca.pem, 30, now=NOW)
    assert status["subject"] == "ovr.fleet node identity CA" and not status["expiring"] and not status["expired"]
    assert status["fingerprint"] == fingerprint(ca.pem)
    assert identity.ca_status(ca.pem, 4000, now=NOW)["expiring"]
    with pytest.raises(ValueError, match="'edge-a' is not a CA certificate"):
        identity.ca_status(ca.issue(new_key(), "edge-a"), now=NOW)


def crl(ca, next_update):
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
               .last_update(NOW - DAY).next_update(next_update))
    return pem(builder.sign(ca.key, hashes.SHA256()))


def test_crl_due(ca):
    assert identity.crl_due("", 30, now=NOW) is True
    assert identity.crl_due("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", 30, now=NOW) is True
    assert identity.crl_due(crl(ca, NOW + 300 * DAY), 30, now=NOW) is False
    assert identity.crl_due(crl(ca, NOW + 20 * DAY), 30, now=NOW) is True


def test_cert_facts_name_what_an_operator_checks(ca, node_key):
    cert = ca.issue(node_key, "edge-a")
    facts = identity.cert_facts(cert, now=NOW)
    parsed = x509.load_pem_x509_certificate(cert.encode())
    assert facts["fingerprint"] == fingerprint(cert) and len(facts["fingerprint"]) == 64
    assert facts["serial"] == parsed.serial_number and facts["serial_hex"] == "%x" % parsed.serial_number
    assert facts["subject"] == "edge-a" and facts["sans"] == ["edge-a"] and facts["usages"] == ["clientAuth"]
    assert facts["days_left"] == 365 and not facts["expired"] and not facts["is_ca"]


@pytest.mark.parametrize("func, args, message", [
    (identity_filter.cert_facts, ("nothing",), "ovr.fleet._identity_cert_facts: no PEM certificate"),
    (identity_filter.csr_check, ("", "edge-a"), "ovr.fleet._identity_csr_check: edge-a: no certificate request to sign"),
    (identity_filter.cert_check, ("", "", "edge-a", None, ["codeSigning"]),
     "ovr.fleet._identity_cert_check: unknown extended key usage(s) codeSigning"),
])
def test_the_filters_name_themselves(func, args, message):
    with pytest.raises(AnsibleFilterError) as info:
        func(*args)
    assert str(info.value).startswith(message), str(info.value)
