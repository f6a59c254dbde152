"""How many credits a worker grants: freed slots are gathered while the server holds enough."""

from __future__ import annotations


def credit_reserve(concurrency: int) -> int:
    """Credits a worker keeps granted ahead of need: an eighth of its concurrency, at least 1."""
    return max(1, concurrency // 8)


def credits_to_grant(concurrency: int, busy: int, outstanding: int) -> int:
    """Credits to grant now.

    Every free slot is granted at once while the server holds fewer unused credits than the
    reserve; while it holds at least that many, free slots are gathered until they make up a
    reserve too, so a worker running tasks one at a time does not send a credit message per
    task (docs/worker-protocol.md section 4).
    """
    free = concurrency - busy - outstanding
    if free <= 0:
        return 0
    reserve = credit_reserve(concurrency)
    if outstanding >= reserve and free < reserve:
        return 0
    return free
