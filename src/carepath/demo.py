"""The main job on the embedded default: a clinic's story from an empty ``var/demo``.

Today it validates the example config, imports the sample patients and plans each
pathway. Later stages (booking, invites, goals, the virtual 12 weeks) hang off
``run_demo`` as they land.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo

from carepath.adapters.clock import FixedClock
from carepath.domain.planning import EpisodePlan, plan_episode
from carepath.domain.timeutil import local_datetime
from carepath.resources import bundled_config_dir
from carepath.services import App
from carepath.services.patients import import_patients
from carepath.settings import Settings

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    app: App
    patients: int
    plans: dict[str, EpisodePlan]


def demo_settings(home: Path, config_dir: Path | None = None) -> Settings:
    home = home.resolve()
    return Settings(home=home, config_dir=config_dir or bundled_config_dir(),
                    database_url=f"sqlite:///{home / 'carepath.db'}", actor="demo")


def run_demo(home: Path, *, start: date, config_dir: Path | None = None,
             say: Say = print) -> DemoResult:
    """Run the demo into ``home``, emptied first, on a virtual clock from ``start``."""
    if home.exists():
        shutil.rmtree(home)
    settings = demo_settings(home, config_dir)
    app = App.open(settings)  # loads and checks the config: a ConfigError stops here
    zone = ZoneInfo(app.config.clinic.timezone)
    app.clock = FixedClock(local_datetime(start, time(7, 0), zone))
    say(f"config ok: {app.config.clinic.name}, {len(app.config.clinic.therapists)} therapists, "
        f"{len(app.config.pathways)} pathways")
    imported = import_patients(app, settings.config_dir / "demo-patients.csv")
    say(f"patients imported: {imported.created} new, {imported.updated} updated")
    plans = {pid: plan_episode(p, start) for pid, p in sorted(app.config.pathways.items())}
    return DemoResult(app=app, patients=imported.created + imported.updated + imported.unchanged,
                      plans=plans)
