"""Deliver an event to every target of the tenant that subscribed to it.

A notification that cannot be delivered is logged and reported, never raised: an unreachable
mail server or webhook must not fail (or retry) a pipeline task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from tenantflow.notifications.message import Message
from tenantflow.notifications.senders import SENDERS

log = logging.getLogger(__name__)


def deliver(targets: Iterable[Any], message: Message) -> dict[str, str]:
    """Send ``message`` to the targets subscribed to its event; ``{target: "sent" | "failed: …"}``."""
    outcome: dict[str, str] = {}
    for target in targets:
        if message.event not in target.events:
            continue
        try:
            SENDERS[target.kind](target.target, message)
            outcome[target.target] = "sent"
        except Exception as exc:  # noqa: BLE001 - any delivery problem is reported, not raised
            outcome[target.target] = f"failed: {type(exc).__name__}: {exc}"
            log.warning("%s notification to %s (%s) not delivered: %s", message.event, target.target,
                        target.kind, exc)
    if outcome:
        log.info("%s notification: %s", message.event, outcome)
    return outcome
