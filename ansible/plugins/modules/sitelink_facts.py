# -*- coding: utf-8 -*-
# Documentation only: plugins/action/sitelink_facts.py runs on the controller.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sitelink_facts
short_description: sitelinkctl status --json as facts (no Python needed on the router)
description:
  - Sets C(ansible_facts.sitelink) from C(sitelinkctl --json status) and C(config history).
  - C(sitelink.running) is false (and the task succeeds) when sitelinkd is not running.
  - "Facts: C(running), C(version), C(peers) (name -> C(state), C(up), C(remote), C(main_mode_sas),
    C(quick_mode_sas), C(last_error)), C(peers_up), C(peers_down), C(confirm_pending), C(history)."
options:
  history:
    description: Also read the config history.
    type: bool
    default: true
  ctl:
    description: The sitelinkctl command on the router.
    type: str
author: sitelink developers
'''

EXAMPLES = r'''
- sitelink.fleet.sitelink_facts:
- ansible.builtin.debug:
    msg: "{{ ansible_facts.sitelink.peers_down }}"
'''
