"""Pydantic's validation errors, rewritten as problems a clinic admin can fix.

pydantic speaks to programmers ("Input should be a valid dictionary or instance of
WeeklyHours"); an admin needs the field, the value, what is wrong in their words and the
fix. ``problems_from`` does that for one file, dropping the "required field is missing"
that only echoes a misspelt key ("timezon" → did you mean 'timezone'?).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from carepath.domain.config.types import Invalid
from carepath.errors import ConfigProblem

Loc = tuple[str | int, ...]
LineOf = Callable[[Loc], int | None]
ValueAt = Callable[[Loc], object]

MAX_SHOWN_VALUE = 80

_MESSAGES: dict[str, tuple[str, str]] = {
    "dict_type": ("expected a mapping of keys to values", "write key: value lines indented "
                  "below this key"),
    "model_type": ("expected a mapping of keys to values", "write key: value lines indented "
                   "below this key"),
    "model_attributes_type": ("expected a mapping of keys to values", "write key: value lines "
                              "indented below this key"),
    "list_type": ("expected a list", "write [a, b] or one '- item' line per entry"),
    "string_type": ("expected text", "write the value after the colon"),
    "int_type": ("expected a whole number", "write digits only, e.g. 45"),
    "int_parsing": ("expected a whole number", "write digits only, e.g. 45"),
    "int_from_float": ("expected a whole number", "drop the decimals"),
    "float_type": ("expected a number", "write digits, e.g. 19.7"),
    "float_parsing": ("expected a number", "write digits, e.g. 19.7"),
    "bool_type": ("expected true or false", "write true or false"),
    "bool_parsing": ("expected true or false", "write true or false"),
    "date_type": ("expected a date", "write a date as YYYY-MM-DD"),
    "time_type": ("expected a time of day", "write a time as HH:MM, e.g. \"11:00\""),
}

_BOUNDS = {  # pydantic error type → (message, hint), both taking the bound
    "greater_than_equal": ("ge", "must be at least {}", "use {} or more"),
    "greater_than": ("gt", "must be above {}", "use a number above {}"),
    "less_than_equal": ("le", "must be at most {}", "use {} or less"),
    "less_than": ("lt", "must be below {}", "use a number below {}"),
}


def problems_from(
    file: str, model: type[BaseModel], errors: list[ErrorDetails], line_of: LineOf,
    value_at: ValueAt,
) -> list[ConfigProblem]:
    """One ``ConfigProblem`` per error, in file order of the fields they name."""
    details = [(_clean_loc(d), d) for d in errors]
    suggested = {(*loc[:-1], hint) for loc, d in details if d["type"] == "extra_forbidden"
                 for hint in _close_keys(model, loc)}
    problems = []
    for loc, detail in details:
        if detail["type"] == "missing" and loc in suggested:
            continue  # the unknown key next to it already says "did you mean …?"
        problems.append(_problem(file, model, loc, detail, line_of, value_at))
    return problems


def _clean_loc(detail: ErrorDetails) -> Loc:
    loc = tuple(part for part in detail["loc"] if not _is_validator_tag(part))
    error = (detail.get("ctx") or {}).get("error")
    if isinstance(error, Invalid) and error.field is not None:
        loc = (*loc, error.field)
    return loc


def _is_validator_tag(part: str | int) -> bool:
    return isinstance(part, str) and (part.startswith("function-") or part.startswith("["))


def _problem(
    file: str, model: type[BaseModel], loc: Loc, detail: ErrorDetails, line_of: LineOf,
    value_at: ValueAt,
) -> ConfigProblem:
    field, line, kind = dotted(loc) or "(top level)", line_of(loc), detail["type"]
    if kind == "extra_forbidden":
        close = _close_keys(model, loc)
        hint = (f"did you mean {close[0]!r}?" if close
                else "allowed keys: " + ", ".join(allowed_keys(model, loc[:-1])))
        return ConfigProblem(file, line, field, None, "unknown key", hint)
    if kind == "missing":
        return ConfigProblem(file, line, field, None, "required field is missing",
                             f"add {loc[-1]}: …")
    is_key = "[key]" in detail["loc"]
    value = shown_value(loc[-1] if is_key and loc else value_at(loc))
    message, hint = _message_and_hint(detail, value)
    if is_key:
        message = f"key {message}" if message.startswith("not") else message
    return ConfigProblem(file, line, field, value, message, hint)


def _message_and_hint(detail: ErrorDetails, value: object) -> tuple[str, str]:
    kind, ctx = detail["type"], detail.get("ctx") or {}
    error = ctx.get("error")
    if isinstance(error, Invalid):
        return str(error), error.hint
    if kind == "string_type" and value is None:
        return "no value given", "write the value after the colon"
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind.startswith("date_"):
        reason = str(error or "").strip()
        return ("not a valid date" + (f" ({reason})" if reason else ""),
                "write a real date as YYYY-MM-DD, e.g. 2027-02-28")
    if kind.startswith("time_"):
        return "not a valid time of day", "write a time as HH:MM, e.g. \"11:00\""
    if kind == "literal_error":
        return _literal(str(ctx.get("expected", "")), value)
    if kind in _BOUNDS:
        key, message, hint = _BOUNDS[kind]
        bound = ctx.get(key)
        shown = f"{bound:g}" if isinstance(bound, float) else str(bound)
        return message.format(shown), hint.format(shown)
    if kind == "string_too_long":
        return f"too long: at most {ctx.get('max_length')} characters", "shorten it"
    if kind == "too_short":
        count = ctx.get("min_length", 1)
        return (f"needs at least {count} entr{'y' if count == 1 else 'ies'}",
                "add an entry (see the example config)")
    return _generic(detail["msg"]), ""


def _literal(expected: str, value: object) -> tuple[str, str]:
    choices = re.findall(r"'([^']*)'", expected)
    close = difflib.get_close_matches(str(value), choices, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "use one of the values listed"
    return f"must be {' or '.join(repr(c) for c in choices) or expected}", hint


def _generic(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return re.sub(r"^(Input|String|List|Dictionary) should", "should", message)


def shown_value(value: object) -> object:
    """The value as the message shows it: long text cut, so hostile input stays one line."""
    if isinstance(value, str) and len(value) > MAX_SHOWN_VALUE:
        return value[:MAX_SHOWN_VALUE] + "…"
    return value


def dotted(loc: Loc) -> str:
    """``("visits", 1, "cadence")`` → ``visits[1].cadence``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _close_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    if not loc:
        return []
    return difflib.get_close_matches(str(loc[-1]), allowed_keys(model, loc[:-1]), n=1)


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model at ``loc`` accepts, for a did-you-mean hint."""
    current: Any = model
    for part in loc:
        current = _step_into(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or name for name, f in current.model_fields.items())
    return []


def _step_into(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return _unwrap(field.annotation)
        return None
    origin = typing.get_origin(annotation)
    if origin in (list, dict):
        return _unwrap(typing.get_args(annotation)[-1])
    return None


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        real = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(real[0]) if len(real) == 1 else annotation
    return annotation
