"""The embedded default's queue: kombu's filesystem transport, messages as files in a folder.

No broker process to install or start, and unlike memory:// it works across the separate
web, worker and beat processes of `make run`.
"""

from __future__ import annotations

from pathlib import Path


def filesystem_broker(folder: Path) -> dict[str, object]:
    """The transport's options for a queue kept in `folder` (its subfolders created)."""
    for sub in ("out", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "out"),
        "data_folder_out": str(folder / "out"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }
