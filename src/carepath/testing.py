"""Transports that misbehave on purpose, for fault tests and drills (real code, no mocks).

- ``StallingTransport`` waits before each hand-over, so a process killed "at a random
  moment" is likely to die mid-send, between sending and marking a message sent.
- ``FailingTransport`` fails every n-th message (temporarily, or permanently), the way a
  flaky SMTP relay does.

Both wrap a real transport (``FolderTransport``, ``SmtpTransport``) and keep its name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from carepath.adapters.mail import Envelope, Transport
from carepath.errors import DeliveryFailed


@dataclass
class StallingTransport:
    """Sleeps ``seconds`` before every send, then sends through ``inner``."""

    inner: Transport
    seconds: float
    name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.name = self.inner.name

    def send(self, envelope: Envelope, message: bytes) -> None:
        time.sleep(self.seconds)  # the stall is the fault being simulated
        self.inner.send(envelope, message)


@dataclass
class FailingTransport:
    """Raises ``DeliveryFailed`` on every ``every``-th message; sends the others."""

    inner: Transport
    every: int = 2
    permanent: bool = False
    calls: int = field(default=0, init=False)
    name: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.name = self.inner.name

    def send(self, envelope: Envelope, message: bytes) -> None:
        self.calls += 1
        if self.calls % self.every == 0:
            raise DeliveryFailed(envelope.message_id, self.name, "failing on purpose",
                                 permanent=self.permanent)
        self.inner.send(envelope, message)
