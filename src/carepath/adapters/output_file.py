"""Files a command writes with ``-o``: feeds, reports, exports — all hold patient data.

The folder is opened once and everything happens relative to that descriptor, so a folder
swapped for a symbolic link halfway cannot redirect the write. The content goes to a new
temporary file in that folder (``O_EXCL | O_NOFOLLOW``, mode 0600 from birth, so nothing is
ever chmod-ed), is synced, and is renamed over the target: a reader sees the old file or the
new one, never half of one. A target that is a symbolic link, a device, a FIFO or anything
but a regular file is refused unless ``force`` (``--force``) — and even then it is the name
that is replaced, never what a link points to. Folders that do not exist are created
owner-only; folders that exist are left as they are.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from carepath.errors import InputError

FORCE_HELP = "replace an -o target that is a symbolic link, device or other non-file"
FORCE_HINT = "name another file, or pass --force to replace it"


def write_output_file(path: Path, content: bytes, *, force: bool = False) -> Path:
    """Write ``content`` to ``path`` safely (see the module docstring); returns ``path``."""
    with open_output_file(path, force=force) as stream:
        stream.write(content)
    return path


@contextmanager
def open_output_file(path: Path, *, force: bool = False) -> Iterator[BinaryIO]:
    """A binary stream that becomes ``path`` when the block ends without an error; on an
    error the target is untouched and the temporary file is removed."""
    name = path.name
    if not name or name in (".", ".."):
        raise InputError(f"-o {path}", "names a folder", "name a file inside it")
    folder = _make_folder(path.parent if str(path.parent) else Path("."), path)
    try:
        directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise _cannot(folder, error) from None
    try:
        _check_target(path, name, directory, force)
        temporary = f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0o600, dir_fd=directory)
        except OSError as error:
            raise _cannot(folder, error) from None
        try:
            with os.fdopen(handle, "wb") as stream:
                yield stream
                stream.flush()
                os.fsync(stream.fileno())
            _check_target(path, name, directory, force)  # planted while we were writing?
            os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=directory)
            raise
        os.fsync(directory)  # the rename itself survives a crash
    except OSError as error:
        raise _cannot(path, error) from None
    finally:
        os.close(directory)


def _check_target(path: Path, name: str, directory: int, force: bool) -> None:
    try:
        found = os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return
    mode = found.st_mode
    if stat.S_ISDIR(mode):
        raise InputError(f"-o {path}", "is a folder", f"name a file inside it, e.g. "
                         f"{path / 'export'}")
    if stat.S_ISREG(mode) or force:
        return
    kind = ("a symbolic link" if stat.S_ISLNK(mode) else
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "a named pipe" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise InputError(f"-o {path}", f"is {kind}; refused", FORCE_HINT)


def _make_folder(folder: Path, target: Path) -> Path:
    """The folder, made (owner-only, by mkdir's mode) where missing; never chmod-ed."""
    if folder.is_dir():
        return folder
    if folder.exists() or folder.is_symlink():
        raise InputError(f"-o {target}", f"{folder} is not a folder", "name a file in a folder")
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass  # made meanwhile: used as it is
    except OSError as error:
        raise _cannot(folder, error) from None
    return folder


def _cannot(path: Path, error: OSError) -> InputError:
    return InputError(f"-o {path}", f"cannot write: {error.strerror or error}",
                      "choose a folder you can write to")
