"""``-o`` in every command that writes a file: planted symbolic links, device nodes, FIFOs,
sockets and folders are refused (or, with ``--force``, the name is replaced — never what a
link points to); nothing is chmod-ed that carepath did not create; no temporary file stays."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_support import Cli, assert_clean

# Every command with -o, as a user would type it; {out} is the target.
WRITERS: dict[str, tuple[str, ...]] = {
    "calendar export": ("calendar", "export", "--therapist", "alvarez", "-o", "{out}"),
    "appointments export": ("appointments", "export", "--format", "csv", "-o", "{out}"),
    "report episode": ("report", "episode", "1", "-o", "{out}"),
    "fhir export": ("fhir", "export", "-o", "{out}"),
}
COMMANDS = sorted(WRITERS)


@pytest.fixture(scope="module")
def clinic(module_cli: Cli) -> Cli:
    """Patients and one booked episode, so every writer has something to write."""
    for args in (("patients", "import", str(module_cli.config_dir / "demo-patients.csv")),
                 ("enroll", "MRN1001", "post-relapse", "--start", "2027-03-01")):
        result = module_cli(*args)
        assert result.exit_code == 0, result.output
    return module_cli


def _run(cli: Cli, command: str, out: Path, *extra: str) -> tuple[int, str]:
    args = [a.format(out=out) for a in WRITERS[command]]
    result = cli(*args, *extra)
    assert_clean(result)
    return result.exit_code, " ".join(result.output.split())


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_planted_symlink_is_refused_and_its_target_kept(
        clinic: Cli, tmp_path: Path, command: str) -> None:
    """Issue case 2: `calendar export -o feed.ics` with feed.ics a link overwrote the target."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "feed.out"
    link.symlink_to(victim)
    code, output = _run(clinic, command, link)
    assert code == 2 and "is a symbolic link; refused" in output and "--force" in output
    assert victim.read_text() == "keep me" and link.is_symlink()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_force_replaces_the_link_itself_never_its_target(
        clinic: Cli, tmp_path: Path, command: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "feed.out"
    link.symlink_to(victim)
    code, output = _run(clinic, command, link, "--force")
    assert code == 0, output
    assert victim.read_text() == "keep me"
    assert not link.is_symlink() and stat.S_IMODE(link.stat().st_mode) == 0o600
    assert link.stat().st_size > 0


@pytest.mark.parametrize("command", COMMANDS)
def test_a_device_node_is_refused_and_stays_a_device(
        clinic: Cli, tmp_path: Path, command: str) -> None:
    """Issue case 2: `appointments export -o` onto a character device replaced the node."""
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs CAP_MKNOD")
    code, output = _run(clinic, command, device)
    assert code == 2 and "is a device; refused" in output
    assert stat.S_ISCHR(os.lstat(device).st_mode)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_fifo_is_refused_without_blocking(clinic: Cli, tmp_path: Path, command: str) -> None:
    """Opening a named pipe for writing would wait for a reader forever."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, output = _run(clinic, command, fifo)
    assert code == 2 and "is a named pipe; refused" in output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("command", COMMANDS)
def test_o_naming_a_folder_names_the_folder(clinic: Cli, tmp_path: Path, command: str) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    code, output = _run(clinic, command, folder)
    assert code == 2 and f"-o {folder}: is a folder" in output
    assert list(folder.iterdir()) == []


CASES: dict[str, Callable[[Path], Path]] = {}


def case(function: Callable[[Path], Path]) -> Callable[[Path], Path]:
    CASES[function.__name__] = function
    return function


@case
def dangling_symlink(folder: Path) -> Path:
    link = folder / "out"
    link.symlink_to(folder / "nowhere" / "file")
    return link


@case
def symlink_to_a_folder(folder: Path) -> Path:
    (folder / "real").mkdir()
    link = folder / "out"
    link.symlink_to(folder / "real")
    return link


@case
def socket_file(folder: Path) -> Path:
    path = folder / "s"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


@case
def symlink_to_etc_passwd_style_file(folder: Path) -> Path:
    secret = folder / "shadow"
    secret.write_text("root:x")
    os.chmod(secret, 0o644)
    link = folder / "out"
    link.symlink_to(secret)
    return link


@pytest.mark.parametrize("name", sorted(CASES))
def test_other_planted_targets_are_refused_untouched(
        clinic: Cli, tmp_path: Path, name: str) -> None:
    target = CASES[name](tmp_path)
    before = sorted((p.name, os.lstat(p).st_mode) for p in tmp_path.iterdir())
    code, output = _run(clinic, "appointments export", target)
    assert code == 2 and "refused" in output or "is a folder" in output, output
    assert sorted((p.name, os.lstat(p).st_mode) for p in tmp_path.iterdir()) == before
    if name == "symlink_to_etc_passwd_style_file":
        assert stat.S_IMODE((tmp_path / "shadow").stat().st_mode) == 0o644  # not chmod-ed


def test_an_existing_folder_keeps_its_permissions(clinic: Cli, tmp_path: Path) -> None:
    """Never chmod what is not ours: a shared 0755 folder stays 0755, the file is 0600."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    code, output = _run(clinic, "calendar export", shared / "alvarez.ics")
    assert code == 0, output
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "alvarez.ics").stat().st_mode) == 0o600


def test_a_missing_folder_is_created_owner_only(clinic: Cli, tmp_path: Path) -> None:
    target = tmp_path / "new" / "reports" / "episode.html"
    code, output = _run(clinic, "report episode", target)
    assert code == 0, output
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


def test_a_file_where_the_folder_should_be_is_one_line(clinic: Cli, tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("x")
    code, output = _run(clinic, "appointments export", tmp_path / "blocker" / "a.csv")
    assert code == 2 and "is not a folder" in output


def test_a_regular_file_is_replaced_whole_and_owner_only(clinic: Cli, tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    target.write_text("old content that is longer than the header line " * 50)
    os.chmod(target, 0o644)
    code, output = _run(clinic, "appointments export", target)
    assert code == 0, output
    assert target.read_text().startswith("id,uid,") and "old content" not in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _leftovers(tmp_path) == []


def test_a_hard_link_elsewhere_keeps_the_old_content(clinic: Cli, tmp_path: Path) -> None:
    """The name is replaced, not the inode: another name for the old file still reads it."""
    target, other = tmp_path / "a.csv", tmp_path / "other.csv"
    target.write_text("old")
    os.link(target, other)
    code, output = _run(clinic, "appointments export", target)
    assert code == 0, output
    assert other.read_text() == "old" and target.read_text() != "old"
