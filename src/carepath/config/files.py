"""Which files a config folder is, and a digest of their bytes (no YAML read here).

Both the loader (what to parse, and its in-process cache) and the checked-config cache
(``carepath.config.cache``) name a folder's state by this fingerprint.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

MAX_CONFIG_BYTES = 1_000_000

Fingerprint = tuple[tuple[str, str], ...]


def pathway_files(directory: Path) -> list[Path]:
    pathway_dir = directory / "pathways"
    return sorted(pathway_dir.glob("*.yaml")) if pathway_dir.is_dir() else []


def fingerprint(directory: Path) -> Fingerprint:
    """Every file the loader reads, by name and a digest of its bytes."""
    files = [directory / "clinic.yaml", directory / "measures.yaml", *pathway_files(directory)]
    return tuple((file.name if file.parent == directory else f"pathways/{file.name}",
                  _digest(file)) for file in files)


def _digest(file: Path) -> str:
    if not file.is_file():
        return ""
    stat = file.stat()
    if stat.st_size > MAX_CONFIG_BYTES:  # refused anyway; never read a huge file whole
        return f"{stat.st_size}:{stat.st_mtime_ns}"
    return hashlib.sha256(file.read_bytes()).hexdigest()
