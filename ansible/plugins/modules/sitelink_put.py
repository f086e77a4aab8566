# -*- coding: utf-8 -*-
# Documentation only: plugins/action/sitelink_put.py runs on the controller.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sitelink_put
short_description: Write a file on a router without Python, scp or sftp
description:
  - Sends the content on the SSH session's stdin (never in a command line) to a temporary file
    beside I(dest), then renames it over I(dest). Unchanged files (same sha256) are left alone.
options:
  dest:
    description: Path on the router.
    type: str
    required: true
  content:
    description: The file's content (mutually exclusive with I(src)).
    type: str
  src:
    description: A file on the controller (mutually exclusive with I(content)).
    type: str
  mode:
    description: Octal file mode.
    type: str
    default: '0600'
author: sitelink developers
'''
