# -*- coding: utf-8 -*-
"""Filters: `sitelinkctl --json status` output (text or parsed) -> facts.

    {{ status_out.stdout | sitelink.fleet.sitelink_status_facts }}
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.sitelink.fleet.plugins.module_utils.sitelink_status import (
    SitelinkSchemaError, history_facts, status_facts)


def sitelink_status_facts(value):
    try:
        return status_facts(value)
    except (SitelinkSchemaError, KeyError, TypeError) as e:
        raise AnsibleFilterError('sitelink_status_facts: %s' % e)


def sitelink_history_facts(value):
    try:
        return history_facts(value)
    except (SitelinkSchemaError, KeyError, TypeError) as e:
        raise AnsibleFilterError('sitelink_history_facts: %s' % e)


class FilterModule(object):
    def filters(self):
        return {
            'sitelink_status_facts': sitelink_status_facts,
            'sitelink_history_facts': sitelink_history_facts,
        }
