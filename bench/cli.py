"""How fast the command line answers: ``python -m bench cli [--runs N]``.

Each command runs as a whole new process (as a person or a script starts it), on a demo home
two weeks in, beside two floors: an empty Python and a bare ``import sqlalchemy``. Medians
and the slowest run of N are printed; goals: ``--help`` under 0.3 s, a query under 0.8 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CARE = str(Path(sys.executable).with_name("carepath"))

COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", [sys.executable, "-c", "pass"]),
    ("python -c 'import sqlalchemy'", [sys.executable, "-c", "import sqlalchemy"]),
    ("carepath --help", [CARE, "--help"]),
    ("carepath slots treatment …", [CARE, "slots", "treatment", "--pathway", "post-relapse",
                                    "--from", "2027-03-15", "--limit", "3"]),
    ("carepath appointments list …", [CARE, "appointments", "list", "--patient", "MRN1029"]),
]


def _wall(argv: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def run(argv: list[str]) -> None:
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 7
    with tempfile.TemporaryDirectory(prefix="carepath-bench-cli-") as folder:
        home = Path(folder) / "demo"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPATH_")}
        subprocess.run([CARE, "demo", "--home", str(home), "--weeks", "2"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        env["CAREPATH_HOME"] = str(home)
        print(f"{'command':<34} {'median s':>9} {'max s':>7}   ({runs} runs each, new process)")
        for label, command in COMMANDS:
            _wall(command, env)  # warm the file cache
            times = [_wall(command, env) for _ in range(runs)]
            print(f"{label:<34} {statistics.median(times):>9.3f} {max(times):>7.3f}")
