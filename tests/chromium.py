"""Debian's Chromium as every browser test launches it (never a downloaded browser).

The flags keep it off the network this machine does not have (background services,
component updates, sync) and let it run as root in a container.
"""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
