# -*- coding: utf-8 -*-
"""Running sitelinkctl and sh on a router without Python, from an action plugin.

Everything goes through the task's connection (ssh) with _low_level_execute_command:
no module is copied, no interpreter is looked for. sudoable=False keeps ssh from
allocating a tty, so stdout stays the bare JSON and stderr stays separate.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

DEFAULT_CTL = '/usr/sbin/sitelinkctl'


def ctl_prefix(action, task_vars, override=None):
    """`sitelink_ctl` (a command, maybe with env assignments) as a list of words."""
    ctl = override or task_vars.get('sitelink_ctl') or DEFAULT_CTL
    ctl = action._templar.template(ctl)
    return shlex.split(str(ctl))


def run_ctl(action, task_vars, args, ctl=None):
    words = ctl_prefix(action, task_vars, ctl) + ['--json'] + [str(a) for a in args]
    return run_sh(action, ' '.join(shlex.quote(w) for w in words))


def run_sh(action, command, in_data=None):
    res = action._low_level_execute_command(command, sudoable=False, in_data=in_data)
    return {
        'rc': res.get('rc'),
        'stdout': res.get('stdout', ''),
        'stderr': res.get('stderr', ''),
    }
