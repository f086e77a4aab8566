# -*- coding: utf-8 -*-
"""Turns `sitelinkctl --json` output into Ansible facts.

Shared by the sitelink_facts action and the sitelink_status_facts filter. The JSON
schema is docs/json-schema.md in the sitelink repository; this code accepts
schemaVersion 1 only and refuses anything else, so a newer, incompatible router
never feeds wrong facts into a play.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

SUPPORTED_SCHEMA = 1


class SitelinkSchemaError(ValueError):
    pass


def parse_json_output(text):
    """The one JSON object sitelinkctl --json prints, schema-checked."""
    if isinstance(text, dict):
        data = text
    else:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise SitelinkSchemaError('sitelinkctl output is not JSON: %s' % e)
    if not isinstance(data, dict):
        raise SitelinkSchemaError('sitelinkctl output is not a JSON object')
    version = data.get('schemaVersion')
    if version != SUPPORTED_SCHEMA:
        raise SitelinkSchemaError(
            'sitelinkctl --json schemaVersion %r is not supported (this collection reads %d)' % (version, SUPPORTED_SCHEMA))
    return data


def status_facts(status):
    """Facts from `sitelinkctl --json status` (a JSON text or the parsed object)."""
    s = parse_json_output(status)
    peers = {}
    for p in s.get('peers', []):
        peers[p['name']] = {
            'remote': p.get('remote'),
            'state': p.get('state'),
            'up': p.get('state') == 'up',
            'main_mode_sas': p.get('mainModeSas', 0),
            'quick_mode_sas': p.get('quickModeSas', 0),
            'last_error': p.get('lastError'),
        }
    pending = s.get('confirmPending')
    return {
        'running': True,
        'schema_version': s['schemaVersion'],
        'version': s.get('version'),
        'pid': s.get('pid'),
        'uptime_seconds': s.get('uptimeSeconds'),
        'config_file': s.get('configFile'),
        'peers': peers,
        'peers_up': sorted(n for n, p in peers.items() if p['up']),
        'peers_down': sorted(n for n, p in peers.items() if not p['up']),
        'confirm_pending': None if not pending else {
            'deadline': pending.get('deadline'),
            'seconds_left': pending.get('secondsLeft'),
            'revert_to': pending.get('revertTo'),
        },
    }


def history_facts(history):
    """Facts from `sitelinkctl --json config history`."""
    h = parse_json_output(history)
    return [
        {'index': e.get('index'), 'seq': e.get('seq'), 'saved': e.get('saved'), 'sha256': e.get('sha256'),
         'source': e.get('source'), 'pending': e.get('pending')}
        for e in h.get('entries', [])
    ]
