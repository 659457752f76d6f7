"""Imports every module that subscribes to domain events, so no event goes unheard.

``App.open`` imports this module. An event published with no subscriber would silently
drop the messages it should cause; add each new subscriber module here.
"""

from __future__ import annotations

import carepath.services.goal_events  # noqa: F401  (goals from the pathway at enrolment)
import carepath.services.notify  # noqa: F401  (invites, patient emails, caregiver copies)
import carepath.services.notify_escalations  # noqa: F401  (therapist and physician told)
