"""The table of event handlers names its handlers by module and name (they are imported when
their event is first published): every name must be a function that exists."""

from __future__ import annotations

import inspect

from carepath.bootstrap import event_handlers


def test_every_handler_in_the_table_is_a_function_of_its_service() -> None:
    named = [handler for handlers in event_handlers().values() for handler in handlers]
    assert len(named) == 7
    for handler in named:
        target = handler.target()  # type: ignore[attr-defined]
        assert inspect.isfunction(target), handler
        assert target.__module__.startswith("carepath.services."), handler
