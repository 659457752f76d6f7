"""The example clinic reshaped for one test, written as config files the engine loads."""

from __future__ import annotations

import shutil
from pathlib import Path

from ruamel.yaml import YAML

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def round_the_clock(config_dir: Path, folder: Path) -> Path:
    """The example clinic open, and every therapist working, every hour of every day, with
    no holidays, closures, leave or maintenance: for tests that book on the wall clock (a
    served process's reminders fall due in real hours), whatever the hour or date they run.
    Visits are still booked and checked by the engine; only the diary is wider."""
    shutil.copytree(config_dir, folder)
    yaml = YAML()
    path = folder / "clinic.yaml"
    clinic = yaml.load(path)
    clinic["opening_hours"] = {day: ["00:00-24:00"] for day in DAYS}
    clinic.pop("holidays", None)
    clinic["closures"] = []
    for resource in clinic["resources"]:
        resource.pop("maintenance", None)
    for therapist in clinic["therapists"]:
        therapist["working_hours"] = {day: ["00:00-24:00"] for day in DAYS}
        therapist.pop("leave", None)
    yaml.dump(clinic, path)
    return folder
