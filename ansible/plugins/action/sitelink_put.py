# -*- coding: utf-8 -*-
"""sitelink.fleet.sitelink_put: write a file on the router without Python, scp or sftp.

The content travels on the SSH session's stdin (never in a command line, so secrets do
not show up in `ps` on either side) into a temporary file beside `dest`, which is then
renamed over it: the router has the old or the new file, never half of one. An
unchanged file (same sha256) is not rewritten.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import shlex

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase
from ansible_collections.sitelink.fleet.plugins.module_utils.sitelink_exec import run_sh


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(('content', 'src', 'dest', 'mode'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        a = self._task.args
        dest = a.get('dest')
        if not dest:
            return dict(result, failed=True, msg='dest is required')
        if ('content' in a) == ('src' in a):
            return dict(result, failed=True, msg='give exactly one of content or src')
        if 'content' in a:
            data = to_bytes(a['content'])
        else:
            try:
                path = self._find_needle('files', a['src'])
            except AnsibleError as e:
                return dict(result, failed=True, msg=str(e))
            with open(path, 'rb') as f:
                data = f.read()
        mode = str(a.get('mode', '0600'))
        if not mode.isdigit():
            return dict(result, failed=True, msg='mode must be octal digits, e.g. 0600')
        want = hashlib.sha256(data).hexdigest()
        q = shlex.quote(dest)
        have = run_sh(self, 'sha256sum %s 2>/dev/null' % q)
        if have['rc'] == 0 and have['stdout'].split()[:1] == [want]:
            return dict(result, changed=False, dest=dest, sha256=want)
        if self._play_context.check_mode:
            return dict(result, changed=True, dest=dest, sha256=want)
        tmpf = shlex.quote('%s.put-tmp' % dest)
        r = run_sh(self, 'umask 077 && cat > %s && chmod %s %s && mv -f %s %s' % (tmpf, mode, tmpf, tmpf, q), in_data=data)
        if r['rc'] != 0:
            run_sh(self, 'rm -f %s' % tmpf)
            return dict(result, failed=True, rc=r['rc'], msg='writing %s failed: %s' % (dest, r['stderr'].strip()))
        return dict(result, changed=True, dest=dest, sha256=want, size=len(data))
