# -*- coding: utf-8 -*-
"""sitelink.fleet.sitelinkctl: run `sitelinkctl --json ARGS` on the router.

Runs on the controller; the router needs no Python. Fails the host when sitelinkctl
fails, with the validator's file:line: field errors as the message (check, reload,
rollback), so a bad config stops that host with the reason.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible_collections.sitelink.fleet.plugins.module_utils.sitelink_exec import run_ctl
from ansible_collections.sitelink.fleet.plugins.module_utils.sitelink_status import SitelinkSchemaError, parse_json_output

# Commands that change the router (the others only read).
CHANGING = frozenset(('reload', 'confirm', 'rollback', 'config', 'initiate', 'terminate', 'rekey'))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('args', 'ctl'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args.get('args')
        if isinstance(args, str):
            args = args.split()
        if not isinstance(args, list) or not args:
            return dict(result, failed=True, msg='args: a list such as [reload, --confirm, 120s] is required')
        args = [str(a) for a in args]
        if self._play_context.check_mode and args[0] in CHANGING:
            return dict(result, skipped=True, msg='check mode: %s not run' % ' '.join(args))

        r = run_ctl(self, task_vars, args, self._task.args.get('ctl'))
        result.update(rc=r['rc'], stdout=r['stdout'], stderr=r['stderr'])
        data = None
        try:
            data = parse_json_output(r['stdout']) if r['stdout'].strip() else None
        except SitelinkSchemaError as e:
            if r['rc'] == 0:
                return dict(result, failed=True, msg=str(e))
        result['json'] = data
        if r['rc'] != 0:
            errors = (data or {}).get('errors') or []
            head = (data or {}).get('message') or r['stderr'].strip() or 'sitelinkctl %s failed (exit %s)' % (args[0], r['rc'])
            result['failed'] = True
            result['msg'] = '\n'.join([head] + [e for e in errors if e not in head])
            return result
        result['changed'] = args[0] in CHANGING
        return result
