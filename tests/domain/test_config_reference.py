"""The manual's configuration reference names every key the config models accept."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from carepath.config.messages import allowed_keys
from carepath.domain.config.models import Clinic, MeasuresFile, Pathway

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "configuration.md"


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """``model`` and every model reachable through its fields."""
    if model in seen:
        return seen
    seen.add(model)
    for field in model.model_fields.values():
        for inner in _classes(field.annotation):
            _models(inner, seen)
    return seen


def _classes(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [c for arg in typing.get_args(annotation) for c in _classes(arg)]


def test_every_config_key_is_documented_in_the_reference() -> None:
    """An admin can write a config from the manual: each key appears in backticks there."""
    section = REFERENCE.read_text(encoding="utf-8")
    spans = " ".join(re.findall(r"`([^`]*)`", section))
    keys = {key for root in (Clinic, MeasuresFile, Pathway)
            for model in _models(root, set()) for key in allowed_keys(model, ())}
    missing = sorted(key for key in keys if not re.search(rf"\b{re.escape(key)}\b", spans))
    assert len(keys) > 50
    assert missing == []
