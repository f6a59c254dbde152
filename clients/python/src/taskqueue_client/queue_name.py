"""The server's rule for queue names: 1-128 characters of letters, digits and ``. _ : -``
(the same rule as ``wire/queue-name.ts``, which the server and the TypeScript SDK use)."""

from __future__ import annotations

import re
from typing import Optional

#: Longest queue name, in characters.
QUEUE_NAME_MAX_LENGTH = 128

_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def queue_name_problem(name: object) -> Optional[str]:
    """What is wrong with ``name`` as a queue name, or None when it is valid."""
    if not isinstance(name, str):
        return "must be a string"
    if name == "":
        return "must not be empty"
    if _PATTERN.fullmatch(name) is None:
        shown = name if len(name) <= 40 else name[:40] + "…"
        return f'"{shown}" must be 1-{QUEUE_NAME_MAX_LENGTH} characters of letters, digits and . _ : -'
    return None
