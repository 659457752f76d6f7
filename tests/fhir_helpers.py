"""Helpers for the FHIR tests: export to a dict, walk resources and references."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from carepath.bootstrap import open_app
from carepath.demo import DemoResult, demo_settings
from carepath.fhir.export import export_bundle
from carepath.services import App


def export_json(app: App, **options: Any) -> dict[str, Any]:
    out = io.StringIO()
    export_bundle(app, out, **options)
    return dict(json.loads(out.getvalue()))


def resources(bundle: dict[str, Any], kind: str | None = None) -> Iterator[dict[str, Any]]:
    for entry in bundle["entry"]:
        if kind is None or entry["resource"]["resourceType"] == kind:
            yield entry["resource"]


def references(node: Any) -> Iterator[str]:
    """Every ``reference`` anywhere below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def fresh_app(home: Path, lived: DemoResult, url: str | None = None) -> App:
    """An empty database (SQLite in ``home``, or ``url``) with the demo's config and clock."""
    settings = demo_settings(home, lived.app.settings.config_dir)
    if url is not None:
        settings = replace(settings, database_url=url)
    return open_app(settings, lived.app.clock, config=lived.app.config)
