"""Which files of an output folder are custseg's, and moving a new set of outputs into place.

custseg writes only what it owns. An output folder records what custseg wrote in it, in a
manifest (``.custseg-outputs.json``). A folder is custseg's when it is new or empty (a
``.gitkeep`` aside), holds that manifest, or holds what an earlier version wrote: its log
(``run_log.json``, ``score_log.json``, ``migration_log.json``), or only the PNG figures of
``custseg report``. Any other folder is refused unless ``--force``; even then custseg
never replaces or deletes a file it did not write.

:func:`commit` switches a folder that holds only custseg's outputs to the new set in one
step (the staged folder and the old one are exchanged, Linux ``renameat2``): a reader sees
the old set or the new one, never a mix. Elsewhere (a folder with the user's files, the
working folder, another system) it moves the files as one transaction: each replaced file
is first set aside, and if any move fails, every file is put back as it was. Outputs of the
previous set that the new one does not have (an audience of a persona that is gone) are
removed; files of the user's, in the folder or in ``audiences/``, stay.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path, PurePosixPath

from custseg.errors import UserError
from custseg.progress import logger

__all__ = ["MANIFEST", "commit", "forcing", "own_file", "previous_outputs", "writable"]

#: The manifest: what custseg wrote in an output folder.
MANIFEST = ".custseg-outputs.json"

#: Names custseg's commands write (for folders written before the manifest existed).
KNOWN_OUTPUTS = frozenset(
    {
        "audiences",
        "backtest.csv",
        "clv.csv",
        "clv.html",
        "clv_eval_deciles.csv",
        "clv_eval_frequency.csv",
        "clv_eval_tracking.csv",
        "clv_model.json",
        "clv_params.json",
        "clv_personas.csv",
        "cohort_personas.csv",
        "cohorts.csv",
        "cohorts.html",
        "customers.csv",
        "customers.parquet",
        "data_quality.json",
        "export_log.json",
        "holdout.csv",
        "k_selection.csv",
        "migration.csv",
        "migration.html",
        "migration_log.json",
        "model.json",
        "movers.csv",
        "plan.csv",
        "report.html",
        "run_log.json",
        "score_log.json",
        "segments.csv",
    }
)
#: The PNG files ``custseg report`` writes.
_FIGURES = frozenset(
    f"{name}.png"
    for name in (
        "data_quality",
        "rfm_distributions",
        "k_selection",
        "segment_shares",
        "rfm_profiles",
        "customers",
        "rfm_crosstab",
        "holdout",
        "cohorts",
        "persona_retention",
    )
)
_LEGACY_LOGS = ("run_log.json", "score_log.json", "migration_log.json")

_FORCE: ContextVar[bool] = ContextVar("custseg_force_outputs", default=False)


@contextlib.contextmanager
def forcing(force: bool) -> Iterator[None]:
    """Within the block, write into folders custseg does not own (``--force``)."""
    token = _FORCE.set(force)
    try:
        yield
    finally:
        _FORCE.reset(token)


def _legacy_audiences() -> set[str]:
    """Return the audience files an earlier version could write: one per persona name."""
    from custseg.commands.common import audience_name
    from custseg.personas import CATCH_ALL, PERSONAS

    return {f"audiences/{audience_name(p.name)}" for p in (*PERSONAS, *CATCH_ALL)}


def _files(folder: Path, names: set[str]) -> set[str]:
    """Return the files (relative paths) of the named entries of an earlier version's folder.

    In ``audiences/`` only the files named after custseg's personas count as its own: a
    list the user keeps there is not custseg's to replace or delete.
    """
    out = set()
    for name in names:
        entry = folder / name
        if entry.is_dir() and not entry.is_symlink():
            found = {p.relative_to(folder).as_posix() for p in entry.rglob("*") if p.is_file()}
            out |= found & _legacy_audiences() if name == "audiences" else found
        elif entry.exists() or entry.is_symlink():
            out.add(name)
    return out


def _inside(folder: Path, name: str) -> bool:
    """Tell whether a manifest entry names a file inside ``folder`` (not ``../x``, ``/x``)."""
    parts = PurePosixPath(name).parts
    if not name or name.startswith("/") or ".." in parts:
        return False
    root = folder.resolve()
    return root in (folder / name).resolve().parents


def previous_outputs(folder: Path) -> set[str] | None:
    """Return the files custseg wrote in ``folder`` (relative paths); None: not custseg's."""
    if not folder.is_dir():
        return set()
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        # A manifest is a file anyone could edit: only entries inside the folder count.
        return {str(f) for f in data["files"] if isinstance(f, str) and _inside(folder, f)}
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged manifest: the folder is not known to be custseg's
    visible = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    # An earlier version's outputs: its log, or (custseg report) only its figures' PNGs.
    if any(log in visible for log in _LEGACY_LOGS) or (visible and visible <= _FIGURES):
        return _files(folder, visible & (KNOWN_OUTPUTS | _FIGURES))
    return set() if not visible else None


def writable(folder: Path, option: str) -> set[str]:
    """Return the files custseg wrote in ``folder``, refusing a folder that is not its own.

    Raises
    ------
    UserError
        When ``folder`` holds files custseg did not write and ``--force`` was not given.
    """
    previous = previous_outputs(folder)
    if previous is not None:
        return previous
    if _FORCE.get():
        return set()
    found = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    shown = ", ".join(found[:3]) + (f" and {len(found) - 3:,} more" if len(found) > 3 else "")
    raise UserError(
        f"{option} {folder} holds files custseg did not write ({shown}); choose a new or "
        f"empty folder, or add --force to write beside them (custseg never replaces or "
        "deletes a file it did not write)."
    )


def own_file(path: Path, option: str, ours: Callable[[bytes], bool], what: str) -> None:
    """Refuse to write the single file ``path`` over a folder or a file custseg did not write.

    A command that writes one file where the user says (``report --html``, ``synth --out``,
    ``inspect --save``) may replace only a file of its own, told by its first bytes.

    Parameters
    ----------
    path : Path
        The file to be written.
    option : str
        How the user named it, for messages.
    ours : callable
        Given the file's first 4 KiB, tells whether custseg wrote it.
    what : str
        What custseg writes there, for messages ("report page").

    Raises
    ------
    UserError
        When ``path`` is a folder, a link, a pipe or device, or a file custseg did not write.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"{option} {path} cannot be checked ({exc.strerror}).") from exc
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{option} {path} is a folder; give the {what}'s file name.")
    head = b""
    if stat.S_ISREG(info.st_mode):  # never opened otherwise: a pipe or a terminal would block
        try:
            with path.open("rb") as fh:
                head = fh.read(4096)
        except OSError:
            head = b""
    if not stat.S_ISREG(info.st_mode) or not ours(head):
        raise UserError(
            f"{option} {path} exists and is not marked as a {what} custseg wrote; custseg "
            "never replaces a file it did not write: give another name, or move that file "
            "away first."
        )


def commit(
    stage: Path, folder: Path, option: str, previous: set[str], mode: int, dir_mode: int
) -> list[str]:
    """Move the staged files into ``folder`` as one transaction; return their paths.

    Parameters
    ----------
    stage : Path
        The staging folder (inside ``folder``), holding the complete new set.
    folder : Path
        The output folder.
    option : str
        How the user named it, for messages.
    previous : set of str
        The files custseg wrote there before (:func:`writable`).
    mode, dir_mode : int
        The permission bits of a file and of a folder (a plain ``open()``'s and ``mkdir()``'s
        under the umask).

    Raises
    ------
    UserError
        When a new output would replace a file custseg did not write.
    OSError
        When a move fails (everything was put back first).
    """
    new = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    foreign = [n for n in new if n not in previous and (folder / n).exists()]
    if foreign:
        raise UserError(
            f"{option} {folder} has a file {foreign[0]!r} that custseg did not write; it "
            "would be replaced. Move it away or choose another folder."
        )
    if _swap(stage, folder, previous, new, mode, dir_mode):
        return new
    aside = Path(tempfile.mkdtemp(dir=folder, prefix=f".custseg-old-{os.getpid()}-"))
    done: list[tuple[str, bool]] = []  # (path, an old file was set aside)
    made: list[Path] = []  # folders created in ``folder``
    displaced: list[str] = []  # earlier output files where the new set has a folder
    try:
        for name in new:
            target = folder / name
            for parent in reversed(target.relative_to(folder).parents[:-1]):
                where = folder / parent
                if parent.as_posix() in previous and (where.is_file() or where.is_symlink()):
                    # customers.parquet was a file and is now a folder of parts (or the
                    # like): the earlier file is set aside first, and put back on failure.
                    (aside / parent).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(where, aside / parent)
                    displaced.append(parent.as_posix())
                if not where.is_dir():
                    where.mkdir(mode=dir_mode)
                    made.append(where)
            kept = target.exists() or target.is_symlink()
            if kept:
                (aside / name).parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, aside / name)
            done.append((name, kept))
            os.chmod(stage / name, mode)
            os.replace(stage / name, target)
    except BaseException:
        lost = False  # an old file that could not be put back stays in ``aside``
        for name, kept in reversed(done):
            try:
                if (folder / name).exists():
                    os.replace(folder / name, stage / name)
                if kept:
                    os.replace(aside / name, folder / name)
            except OSError:
                lost = lost or kept
        for where in reversed(made):
            with contextlib.suppress(OSError):
                where.rmdir()
        for name in reversed(displaced):
            try:
                os.replace(aside / name, folder / name)
            except OSError:
                lost = True
        if lost:  # kept under a visible name that no later run removes as stale
            kept_in = folder / f"custseg-earlier-outputs-{os.getpid()}"
            with contextlib.suppress(OSError):
                os.replace(aside, kept_in)
                aside = kept_in
            logger.warning(
                "outputs  some earlier outputs could not be put back in %s; they are kept in %s",
                folder,
                aside,
            )
        else:
            shutil.rmtree(aside, ignore_errors=True)
        raise
    shutil.rmtree(aside, ignore_errors=True)
    # The previous set's files that the new one lacks are custseg's: removed. Others stay.
    for name in sorted(previous - set(new) - {MANIFEST}):
        with contextlib.suppress(OSError):
            (folder / name).unlink()
            parent = (folder / name).parent
            while parent != folder and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    _write_manifest(folder, new, mode)
    return new


def _write_manifest(folder: Path, files: list[str], mode: int) -> None:
    note = json.dumps({"format": "custseg-outputs/1", "files": files}, indent=1) + "\n"
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".custseg-manifest-")
    with os.fdopen(handle, "w", encoding="utf-8") as fh:
        fh.write(note)
    os.chmod(tmp, mode)
    os.replace(tmp, folder / MANIFEST)


#: Files a folder of outputs may hold besides custseg's own (the project's placeholder).
_PLACEHOLDERS = (".gitkeep", MANIFEST)


def _only_outputs(folder: Path, previous: set[str]) -> bool:
    """Tell whether every file of ``folder`` is custseg's (or a placeholder)."""
    for entry in folder.rglob("*"):
        rel = entry.relative_to(folder)
        if rel.parts[0].startswith(".custseg-"):
            continue  # staging of this run or of others
        if entry.is_symlink() or not (entry.is_dir() or entry.is_file()):
            return False
        if entry.is_file() and rel.as_posix() not in previous | set(_PLACEHOLDERS):
            return False
    return True


def _exchange(first: Path, second: Path) -> None:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); OSError if it cannot."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange):
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _swap(
    stage: Path, folder: Path, previous: set[str], new: list[str], mode: int, dir_mode: int
) -> bool:
    """Switch a folder of outputs to the new set in one step; False when it cannot.

    The staged set (with the folder's placeholders and a new manifest) becomes a sibling
    folder that is exchanged with ``folder`` atomically: a reader sees the old set or the
    new one, never a mix. Only for a folder that holds nothing but custseg's outputs, that
    is not the working folder (nor holds it), on a system with ``renameat2``; otherwise
    the caller moves file by file.
    """
    real = folder.resolve()
    cwd = Path.cwd().resolve()
    if cwd == real or real in cwd.parents or not _only_outputs(real, previous):
        return False
    sibling = real.parent / f".{real.name}.custseg-new-{os.getpid()}"
    try:
        os.rename(stage, sibling)
    except OSError:
        return False
    try:
        for entry in sibling.rglob("*"):
            os.chmod(entry, mode if entry.is_file() else dir_mode)
        for name in (".gitkeep",):
            if (real / name).is_file():
                shutil.copy2(real / name, sibling / name)
        _write_manifest(sibling, new, mode)
        os.chmod(sibling, stat.S_IMODE(real.stat().st_mode))
        _exchange(sibling, real)
    except OSError:
        with contextlib.suppress(OSError):
            (sibling / MANIFEST).unlink()
            with contextlib.suppress(OSError):
                (sibling / ".gitkeep").unlink()
            os.rename(sibling, stage)
        return False
    # ``sibling`` now holds the old set; runs still writing into it get their staging back.
    for other in sibling.glob(".custseg-staging-*"):
        with contextlib.suppress(OSError):
            os.rename(other, real / other.name)
    shutil.rmtree(sibling, ignore_errors=True)
    return True
