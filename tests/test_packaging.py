"""An installed carepath (a wheel, not this checkout) has its config, templates and code.

Builds the wheel from a copy of the sources with ``pip wheel --no-deps`` (``build`` is not
a dependency of ours; pip is always there), installs it with ``--target`` into a folder
of its own, and imports it there with the site hooks off (``python -S``), so that the
editable install of this checkout cannot answer in its place.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # about 12 s: a wheel build and an install

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "src", "flows", "config", "templates")


def _pip(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check"],
                   cwd=cwd, check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """carepath's wheel, built from a copy of the sources (the checkout stays untouched)."""
    copy = tmp_path_factory.mktemp("sources")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=ignore)
        else:
            shutil.copy2(source, copy / name)
    out = tmp_path_factory.mktemp("dist")
    _pip("wheel", "--no-deps", "--wheel-dir", str(out), str(copy), cwd=copy)
    return next(out.glob("carepath-*.whl"))


@pytest.fixture(scope="module")
def names(wheel: Path) -> Iterator[set[str]]:
    with zipfile.ZipFile(wheel) as archive:
        yield set(archive.namelist())


def _expected_data() -> list[str]:
    config = [f"carepath/_bundled/config/{p.relative_to(ROOT / 'config')}"
              for p in (ROOT / "config").rglob("*") if p.suffix in {".yaml", ".csv"}]
    templates = [f"carepath/_bundled/templates/emails/{p.name}"
                 for p in (ROOT / "templates" / "emails").glob("*.j2")]
    migrations = [f"carepath/migrations/versions/{p.name}"
                  for p in (ROOT / "src/carepath/migrations/versions").glob("*.py")]
    return sorted([*config, *templates, *migrations, "carepath/migrations/env.py",
                   "carepath/migrations/script.py.mako", "carepath/py.typed"])


def test_the_wheel_bundles_the_example_config_templates_and_migrations(names: set[str]) -> None:
    """Every config file, email template and migration of the checkout is in the wheel."""
    expected = _expected_data()
    assert "carepath/_bundled/config/clinic.yaml" in expected
    assert "carepath/_bundled/config/demo-patients.csv" in expected
    assert "carepath/_bundled/config/pathways/post-relapse.yaml" in expected
    assert [name for name in expected if name not in names] == []


def test_the_wheel_holds_every_python_package_of_the_checkout(names: set[str]) -> None:
    """A sub-package missing from pyproject's list would break the installed CLI."""
    packages = [str(p.relative_to(ROOT / "src")) for p in (ROOT / "src/carepath").rglob(
        "__init__.py") if "__pycache__" not in p.parts]
    packages += [str(p.relative_to(ROOT)) for p in (ROOT / "flows").glob("*.py")]
    assert "carepath/cli/__init__.py" in packages and "flows/__init__.py" in packages
    assert sorted(name for name in packages if name not in names) == []


def test_an_installed_copy_finds_its_bundled_config_and_validates_it(
    wheel: Path, tmp_path: Path
) -> None:
    """Installed with --target, carepath reads the example clinic from inside the package."""
    target = tmp_path / "install" / "site"
    _pip("install", "--no-deps", "--no-index", "--target", str(target), str(wheel), cwd=tmp_path)
    script = (
        "import carepath.config.resources as r, carepath.config.loader as c\n"
        "config_dir = r.bundled_config_dir()\n"
        "print(config_dir); print(r.templates_dir())\n"
        "print(sorted(c.load_config(config_dir).pathways))\n"
        "from carepath.cli import app\n"
        "app(['config', 'validate', str(config_dir)])\n"
    )
    path = f"{target}:{sysconfig.get_paths()['purelib']}:{sysconfig.get_paths()['platlib']}"
    run = subprocess.run([sys.executable, "-S", "-c", script], cwd=tmp_path,
                         env={"PYTHONPATH": path, "COLUMNS": "200", "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    config_line, templates_line, pathways_line, *rest = run.stdout.splitlines()
    assert config_line == str(target / "carepath" / "_bundled" / "config")
    assert templates_line == str(target / "carepath" / "_bundled" / "templates" / "emails")
    assert pathways_line == "['post-relapse', 'progression-review', 'stable-boosters']"
    assert rest[0].startswith(f"ok {config_line}: Riverside Rehabilitation Center")
