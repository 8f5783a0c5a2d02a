"""Debian's Chromium as every browser test launches it (never a downloaded browser).

The flags keep it off the network this machine does not have (background services,
component updates, sync) and let it run as root in a container.
"""

from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def wait_for_task_page(page: Any, selector: str) -> None:
    """Wait for a task page reached by a full navigation, with its scripts running.

    The page's scripts are deferred: the task's markup is in the DOM before tasks.js
    has bound its keys, so a key pressed at once can be lost (the fresh-clone CI lost a
    best-worst choice that way). Deferred scripts run before the load event.
    """
    page.wait_for_selector(selector)
    page.wait_for_load_state("load")
