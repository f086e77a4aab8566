# -*- coding: utf-8 -*-
# Documentation only: the work is done on the controller by plugins/action/sitelinkctl.py
# (the router has no Python to run a module).
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sitelinkctl
short_description: Run sitelinkctl on a sitelink router (no Python needed on it)
description:
  - Runs C(sitelinkctl --json ARGS) over the task's SSH connection and returns the parsed output.
  - "Fails the host when sitelinkctl fails; for C(check), C(reload) and C(config rollback) the message
    carries the validator's C(file:line: field: message) errors."
  - Accepts the JSON schema version 1 only (docs/json-schema.md).
options:
  args:
    description: sitelinkctl arguments, e.g. C([reload, --confirm, 120s]) or C([check, /config/x.conf]).
    type: list
    elements: str
    required: true
  ctl:
    description: The sitelinkctl command on the router (default C(sitelink_ctl) or C(/usr/sbin/sitelinkctl)).
    type: str
author: sitelink developers
'''

EXAMPLES = r'''
- name: Apply with automatic rollback after 2 minutes
  sitelink.fleet.sitelinkctl:
    args: [reload, --confirm, 120s]
'''

RETURN = r'''
json:
  description: The parsed JSON output (schemaVersion 1).
  type: dict
  returned: when sitelinkctl printed JSON
'''
