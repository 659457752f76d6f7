"""The one exception tree of carepath.

```
CarepathError
├── ConfigError            one or more config problems: file, line, field path, value, hint
├── InputError(ValueError) a user's argument or input row is wrong (what, why, fix)
├── NotFound(LookupError)  what, id
├── InvalidTransition      a state change that the state table does not allow
├── NoSlotAvailable        requirement, binding constraint, nearest alternatives
├── SlotTaken              lost a race for a slot; carries alternatives
│   └── RaceLost           lost a race to something else (leave recorded meanwhile): says what
└── DeliveryFailed         message id, transport, cause (chained)
```

Every message is built from fields in ``__init__`` so that the CLI can print
``str(error)`` as one clear line, and code can still read the fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CarepathError(Exception):
    """Base of every error carepath raises on purpose; the CLI turns it into one line."""

    exit_code = 1


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a configuration file."""

    file: str
    line: int | None
    field: str
    value: object
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.field}: {self.message}"
        if self.value is not None and self.value != "":
            text += f" (got {self.value!r})"
        if self.hint:
            text += f" — {self.hint}"
        return text


class ConfigError(CarepathError):
    """The configuration has one or more problems; ``problems`` lists every one."""

    exit_code = 2

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} configuration problem{'s' if count != 1 else ''}"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class InputError(CarepathError, ValueError):
    """A value the user typed or imported is wrong; says what, why and the fix."""

    exit_code = 2

    def __init__(self, what: str, why: str, fix: str = "") -> None:
        self.what, self.why, self.fix = what, why, fix
        super().__init__(f"{what}: {why}" + (f" — {fix}" if fix else ""))


class NotFound(CarepathError, LookupError):
    """Something named by id does not exist."""

    exit_code = 3

    def __init__(self, what: str, ident: object, hint: str = "") -> None:
        self.what, self.ident, self.hint = what, ident, hint
        super().__init__(f"no {what} {ident!r}" + (f" — {hint}" if hint else ""))


class InvalidTransition(CarepathError):
    """A state change that the lifecycle table does not allow."""

    def __init__(self, what: str, ident: object, current: str, wanted: str) -> None:
        self.what, self.ident, self.current, self.wanted = what, ident, current, wanted
        super().__init__(f"{what} {ident} is {current}; it cannot become {wanted}")


class NoSlotAvailable(CarepathError):
    """A visit could not be placed: which one, the binding constraint, what is nearest."""

    exit_code = 4

    def __init__(
        self, requirement: str, constraint: str, alternatives: Sequence[str] = ()
    ) -> None:
        self.requirement, self.constraint = requirement, constraint
        self.alternatives = list(alternatives)
        text = f"cannot book {requirement}: {constraint}"
        if self.alternatives:
            text += "; nearest alternatives: " + "; ".join(self.alternatives)
        super().__init__(text)


class SlotTaken(CarepathError):
    """Another booking won the race for this slot; ``alternatives`` are still free."""

    exit_code = 5

    def __init__(self, what: str, alternatives: Sequence[str] = ()) -> None:
        self.what, self.alternatives = what, list(alternatives)
        text = f"{what} was just taken by another booking"
        if self.alternatives:
            text += "; still free: " + "; ".join(self.alternatives)
        super().__init__(text)


class RaceLost(SlotTaken):
    """A concurrent change that is not a booking won (leave recorded while visits were being
    booked, a visit taken while leave moved visits): the text names what happened."""

    def __init__(self, text: str) -> None:
        self.what, self.alternatives = text, []
        CarepathError.__init__(self, text)


class DeliveryFailed(CarepathError):
    """A message could not be handed to its transport; the cause is chained."""

    def __init__(self, message_id: str, transport: str, reason: str, permanent: bool) -> None:
        self.message_id, self.transport = message_id, transport
        self.reason, self.permanent = reason, permanent
        kind = "permanently" if permanent else "temporarily"
        super().__init__(f"message {message_id} failed {kind} via {transport}: {reason}")
