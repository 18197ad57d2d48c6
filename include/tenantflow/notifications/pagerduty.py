"""PagerdutyNotifier that honours the connection's host as the Events API base URL.

The provider's sync hook always posts to https://events.pagerduty.com (the US service region); its
async hook posts to its ``base_url``. A PagerDuty account in the EU region (https://events.eu.pagerduty.com)
or a relay needs another base URL, so this notifier sends through the async hook with ``base_url`` set
from the connection's host when it has one — the provider's own request building and response checks.
"""

from __future__ import annotations

import asyncio
from functools import cached_property
from typing import Any

from airflow.providers.pagerduty.hooks.pagerduty_events import PagerdutyEventsAsyncHook
from airflow.providers.pagerduty.notifications.pagerduty import PagerdutyNotifier


class RegionalPagerdutyNotifier(PagerdutyNotifier):
    @cached_property
    def hook_async(self) -> PagerdutyEventsAsyncHook:
        conn_id = self.pagerduty_events_conn_id
        conn = PagerdutyEventsAsyncHook.get_connection(conn_id) if conn_id else None
        # the key read here, through the sync lookup: the async one is bound to the process's main event
        # loop, and this notifier may run in a thread of its own (the SLA callback in the triggerer)
        key = self.integration_key or (conn.password if conn is not None else None)
        hook = PagerdutyEventsAsyncHook(pagerduty_events_conn_id=conn_id, integration_key=key)
        if conn is not None and conn.host:
            scheme = conn.schema or "https"
            host = conn.host if "://" in conn.host else f"{scheme}://{conn.host}"
            hook.base_url = host + (f":{conn.port}" if conn.port else "")
        return hook

    def notify(self, context: Any) -> None:
        asyncio.run(self.async_notify(context))
