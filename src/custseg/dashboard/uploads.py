"""Uploaded files: kept in a private folder of this process, removed when it ends.

Each dashboard process stores uploads in its own folder made by :func:`tempfile.mkdtemp`
(mode 0700, ``custseg-uploads-<pid>-*`` in the system temp folder), each file created with
``O_CREAT | O_EXCL`` (never through a link) and mode 0600: no other local user can read
them or plant a link that the dashboard would write through. The folder is removed when the
process exits; a folder left by a process that no longer runs (killed, or a crash) is
removed at the next start-up. A browser session's end has no reliable hook, so uploads stay
until then.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from custseg.signals import pid_alive

__all__ = [
    "UPLOAD_PREFIX",
    "is_upload",
    "remove_stale_uploads",
    "save_upload",
    "shown_name",
    "upload_folder",
]

#: Name prefix of the upload folders in the system temp folder.
UPLOAD_PREFIX = "custseg-uploads-"

_FOLDER: list[Path] = []


def _remove_stale(root: Path) -> None:
    """Remove this user's upload folders whose process no longer runs."""
    for folder in root.glob(UPLOAD_PREFIX + "*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(folder.name[len(UPLOAD_PREFIX) :].split("-", 1)[0])
            if folder.is_dir() and folder.stat().st_uid == os.getuid() and not pid_alive(pid):
                shutil.rmtree(folder, ignore_errors=True)


_CHECKED: list[bool] = []


def remove_stale_uploads() -> None:
    """At the dashboard's start, once per process: remove upload folders of dead processes."""
    if not _CHECKED:
        _CHECKED.append(True)
        _remove_stale(Path(tempfile.gettempdir()))


def upload_folder() -> Path:
    """Return this process's private upload folder, made (and stale ones removed) on first use."""
    if not _FOLDER:
        root = Path(tempfile.gettempdir())
        _remove_stale(root)
        folder = Path(tempfile.mkdtemp(prefix=f"{UPLOAD_PREFIX}{os.getpid()}-", dir=root))
        atexit.register(shutil.rmtree, folder, True)
        _FOLDER.append(folder)
    return _FOLDER[0]


def is_upload(path: Path) -> bool:
    """Tell whether ``path`` is an uploaded file (its name then starts with a digest)."""
    return path.parent.name.startswith(UPLOAD_PREFIX)


def shown_name(path: Path | str) -> str:
    """Return how the dashboard names ``path``: an upload by the name it was uploaded with."""
    path = Path(path)
    return path.name.split("-", 1)[-1] if is_upload(path) else str(path)


def save_upload(name: str, data: bytes) -> Path:
    """Store an uploaded file, named by its content, and return its path.

    Parameters
    ----------
    name : str
        The uploaded file's name (kept after the digest, for messages).
    data : bytes
        The file's content.

    Returns
    -------
    Path
        A file of mode 0600 in :func:`upload_folder`; the same content gives the same path.
    """
    digest = hashlib.sha256(data).hexdigest()[:20]
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(name).name)
    path = upload_folder() / f"{digest}-{safe}"
    if path.is_file() and not path.is_symlink() and path.stat().st_size == len(data):
        return path
    # mkstemp creates the file with O_CREAT | O_EXCL (never through a link) and mode 0600.
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
