# -*- coding: utf-8 -*-
"""The checks of role identity (tasks/validate.yml), run by ansible-playbook on local hosts: one
message per broken rule, each naming the host, the variable and what it got."""
import pytest

GOOD = {"identity-good": {"identity_cert_sans": ["fleet.example.net"], "identity_cert_usages": ["clientAuth", "serverAuth"]}}
BAD = {
    "identity-bad": {
        "identity_dir": "etc/ovr/tls",
        "identity_pki_dir": "~/pki",
        "identity_ca_name": "",
        "identity_ca_duration_days": 100,
        "identity_cert_duration_days": 20,
        "identity_cert_renew_before": 30,
        "identity_crl_valid_days": 10,
        "identity_cert_usages": ["codeSigning"],
        "identity_cert_sans": ["fleet example"],
        "identity_publish": "sometimes",
        "ovr_identity_revoked": {"name": "edge-b"},
    },
}

VALIDATE_RUNS = {"identity": {"role": "identity", "hosts": dict(GOOD, **BAD)}}


def test_good_settings_pass(validated):
    assert validated("identity")["identity-good"] == []


@pytest.mark.parametrize("message", [
    "identity_dir must be an absolute path on the node, got etc/ovr/tls",
    "identity_pki_dir must be an absolute path on the controller, got ~/pki",
    'identity_ca_name must be a non-empty single line, got ""',
    "identity_cert_duration_days must be a number of days longer than identity_cert_renew_before (30), got 20",
    "identity_crl_valid_days must be a number of days longer than identity_cert_renew_before (30), got 10",
    'identity_cert_usages must be a list of clientAuth and/or serverAuth, got ["codeSigning"]',
    'identity_cert_sans must be a list of DNS names, got ["fleet example"]',
    "identity_publish must be true or false, got sometimes",
    'ovr_identity_revoked must be a list of {name, reason, fingerprint?}, got {"name": "edge-b"}',
])
def test_each_bad_setting_gets_its_own_message(validated, message):
    assert "identity-bad: %s. Nothing was changed." % message in validated("identity")["identity-bad"]
