# -*- coding: utf-8 -*-
"""sitelink.fleet.sitelink_facts: `sitelinkctl status --json` (and the config history)
as facts under `ansible_facts.sitelink`. A router whose daemon is not running gives
`sitelink.running: false` instead of failing, so plays can start it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible_collections.sitelink.fleet.plugins.module_utils.sitelink_exec import run_ctl
from ansible_collections.sitelink.fleet.plugins.module_utils.sitelink_status import (
    SitelinkSchemaError, history_facts, status_facts)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('history', 'ctl'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        ctl = self._task.args.get('ctl')
        r = run_ctl(self, task_vars, ['status'], ctl)
        if r['rc'] != 0:
            why = r['stderr'].strip() or r['stdout'].strip()
            if 'cannot connect' in why or 'timeout connecting' in why:
                return dict(result, ansible_facts={'sitelink': {'running': False, 'reason': why, 'peers': {}, 'peers_up': [], 'peers_down': []}})
            return dict(result, failed=True, rc=r['rc'], msg='sitelinkctl status failed: %s' % why)
        try:
            facts = status_facts(r['stdout'])
            if self._task.args.get('history', True):
                h = run_ctl(self, task_vars, ['config', 'history'], ctl)
                facts['history'] = history_facts(h['stdout']) if h['rc'] == 0 else []
        except SitelinkSchemaError as e:
            return dict(result, failed=True, msg=str(e))
        return dict(result, ansible_facts={'sitelink': facts})
