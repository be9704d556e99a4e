"""Screenshots of pages, for people to look at (var/screenshots/); nothing compares them."""

from __future__ import annotations

from pathlib import Path

# Debian's Chromium, with the flags it needs as root on a machine with no network.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def shoot(page, name: str) -> None:
    """Full-page screenshots at desktop (1280) and phone (390) width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, width in (("desktop", 1280), ("phone", 390)):
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(size)
