# -*- coding: utf-8 -*-
"""The cloud stack's checks (roles/cloud_stack/tasks/validate.yml), run by ansible-playbook on
local hosts: one message per broken rule (the former 15-condition assert), each naming the host,
the variable and what it got; the TLS material is checked with real certificates and keys."""
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def cert_pem(key, days_from, days_to, name="cloud.test.invalid"):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days_from))
            .not_valid_after(now + datetime.timedelta(days=days_to))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
TLS = {"cloud_stack_tls_cert_pem": cert_pem(KEY, -1, 30), "cloud_stack_tls_key_pem": key_pem(KEY)}
GOOD = dict(TLS, ovr_cloud_token="lab-token-not-secret",
            cloud_stack_users=[{"name": "ops", "password": "ops-password"}])
HOSTS = {
    "cloud-good": dict(GOOD),
    "cloud-no-tls": dict(GOOD, cloud_stack_tls_cert_pem="", cloud_stack_tls_key_pem=""),
    "cloud-bad-settings": dict(
        GOOD, ovr_cloud_token="short token", cloud_stack_https_port=70000, cloud_stack_vm_retention="1 year",
        cloud_stack_users=[{"name": "bad name", "password": "x"}, {"name": "ops", "password": ""},
                           {"name": "ops", "password": "y"}]),
    "cloud-bad-apps": dict(
        GOOD, cloud_stack_users=[],
        cloud_stack_apps=[{"name": "caddy", "image": "c:1", "port": 80, "path": "/c", "auth": "none"},
                          {"name": "Map", "image": "", "port": 0, "path": "/map/"},
                          {"name": "api", "image": "a:1", "port": 80, "path": "/api/v1/x", "auth": "digest"},
                          {"name": "api", "image": "a:2", "port": 81, "path": "/api2", "auth": "none"}]),
    "cloud-garbage-pem": dict(GOOD, cloud_stack_tls_cert_pem="-----BEGIN CERTIFICATE-----\nnot base64\n"),
    "cloud-wrong-key": dict(GOOD, cloud_stack_tls_key_pem=key_pem(OTHER_KEY)),
    "cloud-expired": dict(GOOD, cloud_stack_tls_cert_pem=cert_pem(KEY, -30, -1)),
    "cloud-old": dict(GOOD, cloud_stack_dir="/srv/cloud"),
}

VALIDATE_RUNS = {"main": {"role": "cloud_stack", "hosts": HOSTS}}


@pytest.fixture(scope="module")
def checked(validated):
    return validated("main")


def said(checked, host, message):
    return "%s: %s. Nothing was changed." % (host, message) in checked[host]


def test_good_settings_pass(checked):
    assert checked["cloud-good"] == []


def test_missing_tls_material_names_each_variable(checked):
    assert said(checked, "cloud-no-tls", "cloud_stack_tls_cert_pem is empty; the cloud front needs its TLS certificate "
                "(PEM text; lab/pki.yml makes a lab CA and server certificate)")
    assert said(checked, "cloud-no-tls", "cloud_stack_tls_key_pem is empty; the cloud front needs the private key of "
                "its certificate (PEM text; vault it)")
    assert len(checked["cloud-no-tls"]) == 2


@pytest.mark.parametrize("message", [
    "cloud_stack_token (default ovr_cloud_token) must be 16 or more characters of A-Z a-z 0-9 . _ ~ + / = -, "
    "got 11 characters, 1 of them outside that set",
    "cloud_stack_https_port must be a port 1-65535, got 70000",
    "cloud_stack_vm_retention must look like 12 (months), 30d or 1y, got 1 year",
    'every cloud_stack_users name must be A-Z a-z 0-9 . _ -, got ["bad name"]',
    'cloud_stack_users names must be unique, got ["bad name", "ops", "ops"]',
    'every cloud_stack_users item needs a non-empty password, got none for ["ops"]',
])
def test_bad_settings_each_get_a_message(checked, message):
    assert said(checked, "cloud-bad-settings", message)


def test_bad_settings_one_message_per_rule(checked):
    assert len(checked["cloud-bad-settings"]) == 6
    assert not any("lab-token" in m or "short token" in m for m in checked["cloud-bad-settings"])


@pytest.mark.parametrize("message", [
    "every cloud_stack_apps name must be lower-case letters, digits and '-' starting with a letter, got [\"Map\"]",
    'cloud_stack_apps names may not be victoriametrics or caddy (the stack\'s own services), got ["caddy"]',
    'cloud_stack_apps names must be unique, got ["api", "api", "caddy", "Map"]',
    'every cloud_stack_apps item needs an image, got none for ["Map"]',
    'every cloud_stack_apps item needs a port (its container\'s), got none (or not a number above 0) for ["Map"]',
    'every cloud_stack_apps path must be a URL prefix such as /map (no trailing slash), got ["/map/"]',
    'cloud_stack_apps paths may not be under /api/v1 (VictoriaMetrics\' API), got ["/api/v1/x"]',
    'every cloud_stack_apps auth must be basic or none, got ["digest"]',
    'cloud_stack_users is empty, but the cloud_stack_apps ["Map"] need basic auth of its users (auth basic, the default)',
])
def test_bad_apps_each_get_a_message(checked, message):
    assert said(checked, "cloud-bad-apps", message)


def test_bad_apps_one_message_per_rule(checked):
    assert len(checked["cloud-bad-apps"]) == 9


def test_garbage_certificate_gets_one_message(checked):
    (message,) = checked["cloud-garbage-pem"]
    assert message.startswith("cloud-garbage-pem: cloud_stack_tls_cert_pem is not a PEM certificate (")


def test_key_of_another_certificate_is_named(checked):
    (message,) = checked["cloud-wrong-key"]
    assert message.startswith("cloud-wrong-key: cloud_stack_tls_key_pem does not belong to cloud_stack_tls_cert_pem "
                              "(their public keys differ; certificate subject ")
    assert "cloud.test.invalid" in message


def test_expired_certificate_says_when(checked):
    (message,) = checked["cloud-expired"]
    assert message.startswith("cloud-expired: cloud_stack_tls_cert_pem expired on ")


def test_removed_variables_are_named_not_ignored(checked):
    assert checked["cloud-old"] == [
        "cloud-old: removed variables are set (cloud_stack_dir); the project is ovr-cloud in <ovr_opt_dir>/cloud (set the "
        "fleet-wide ovr_opt_dir instead). Nothing was changed."]
