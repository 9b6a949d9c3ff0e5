# -*- coding: utf-8 -*-
# Copyright: ovr.fleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node identity filters, internal to role ovr.fleet.identity: _identity_ca_status,
_identity_cert_facts, _identity_cert_check, _identity_csr_check, _identity_publish,
_identity_crl_due.

Thin wrappers: the rules live in plugins/module_utils/identity.py. Documentation for each filter
is in the sidecar plugins/filter/<name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.ovr.fleet.plugins.module_utils import identity
from ansible_collections.ovr.fleet.plugins.plugin_utils.adapter import call


def ca_status(pem, renew_before_days=30):
    """Subject, fingerprint and expiry of the identity CA certificate ``pem``."""
    return call("_identity_ca_status", identity.ca_status, pem, renew_before_days=renew_before_days)


def cert_facts(pem):
    """Subject, names, serial, SHA-256 fingerprint and expiry of the certificate ``pem``."""
    return call("_identity_cert_facts", identity.cert_facts, pem)


def cert_check(cert_pem, csr_pem, name, sans=None, usages=None, ca_pem="", renew_before_days=30, revoked=None):
    """Why the node's certificate must be re-signed, and whether it needs a new key."""
    return call("_identity_cert_check", identity.cert_check, cert_pem, csr_pem, name, sans=sans, usages=usages,
                ca_pem=ca_pem, renew_before_days=renew_before_days, revoked=revoked)


def csr_check(csr_pem, name, sans=None, usages=None):
    """The node's certificate request, when the controller may sign it."""
    return call("_identity_csr_check", identity.csr_check, csr_pem, name, sans=sans, usages=usages)


def publish(hostvars, groups, records, revoked=None, ca_pems=None):
    """The active certificates' map, the CRL's entries and the warnings, from the records."""
    return call("_identity_publish", identity.publish, hostvars, groups, records, revoked=revoked, ca_pems=ca_pems)


def crl_due(crl_pem, renew_before_days=30):
    """Whether the CRL must be issued again (none, unreadable, or its next update near)."""
    return call("_identity_crl_due", identity.crl_due, crl_pem, renew_before_days=renew_before_days)


class FilterModule(object):
    """ovr.fleet identity filters."""

    def filters(self):
        return {
            "_identity_ca_status": ca_status,
            "_identity_cert_facts": cert_facts,
            "_identity_cert_check": cert_check,
            "_identity_csr_check": csr_check,
            "_identity_publish": publish,
            "_identity_crl_due": crl_due,
        }
