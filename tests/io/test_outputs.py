"""The output policy: custseg writes only what it owns, and a set goes in whole or not at all."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custseg.cli import app
from custseg.errors import UserError
from custseg.io.outputs import MANIFEST, forcing, previous_outputs
from custseg.io.writers import staged_folder


def _write(folder: Path, files: dict[str, str]) -> None:
    with staged_folder(folder, "--out") as stage:
        for name, text in files.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_text(text)


def test_a_folder_of_the_users_is_refused_unless_forced(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    with pytest.raises(UserError, match=r"holds files custseg did not write \(notes.txt\)"):
        _write(folder, {"customers.csv": "new"})
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    with forcing(True):
        _write(folder, {"customers.csv": "new", "audiences/a.csv": "a"})
    assert (folder / "notes.txt").read_text() == "keep"
    assert json.loads((folder / MANIFEST).read_text())["files"] == [
        "audiences/a.csv",
        "customers.csv",
    ]
    # Now the folder is custseg's: a second run needs no --force, and the note stays.
    _write(folder, {"customers.csv": "newer"})
    assert (folder / "notes.txt").read_text() == "keep"
    assert not (folder / "audiences").exists()  # custseg's old audience, gone with it


def test_force_never_replaces_a_file_custseg_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text("my report")
    (tmp_path / "notes.txt").write_text("keep")
    with forcing(True), pytest.raises(UserError, match=r"'report.html' that custseg did not"):
        _write(tmp_path, {"report.html": "custseg's", "customers.csv": "x"})
    assert (tmp_path / "report.html").read_text() == "my report"
    assert not (tmp_path / "customers.csv").exists()


def test_the_projects_folders_and_earlier_versions_outputs_are_custsegs(tmp_path: Path) -> None:
    fresh = tmp_path / "processed"
    fresh.mkdir()
    (fresh / ".gitkeep").write_text("")
    assert previous_outputs(fresh) == set()
    _write(fresh, {"customers.csv": "x"})
    assert (fresh / ".gitkeep").exists()
    legacy = tmp_path / "legacy"
    (legacy / "audiences").mkdir(parents=True)
    (legacy / "run_log.json").write_text("{}")
    (legacy / "customers.csv").write_text("old")
    (legacy / "audiences" / "champions.csv").write_text("old")
    (legacy / "audiences" / "my-list.csv").write_text("keep")  # not a persona's name
    (legacy / "my notes.txt").write_text("keep")
    assert previous_outputs(legacy) == {
        "run_log.json",
        "customers.csv",
        "audiences/champions.csv",
    }
    _write(legacy, {"customers.csv": "new", "run_log.json": "{}"})
    assert sorted(p.name for p in legacy.iterdir()) == [
        MANIFEST,
        "audiences",
        "customers.csv",
        "my notes.txt",
        "run_log.json",
    ]
    assert [p.name for p in (legacy / "audiences").iterdir()] == ["my-list.csv"]


def test_a_manifest_cannot_name_files_outside_its_folder(tmp_path: Path) -> None:
    folder, victim = tmp_path / "out", tmp_path / "victim.txt"
    _write(folder, {"customers.csv": "x"})
    victim.write_text("keep")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "v2.txt").write_text("keep")
    os.symlink(tmp_path / "elsewhere", folder / "link")
    crafted = ["../victim.txt", str(victim), "link/v2.txt", "customers.csv", 7]
    (folder / MANIFEST).write_text(json.dumps({"files": crafted}))
    assert previous_outputs(folder) == {"customers.csv"}
    _write(folder, {"segments.csv": "y"})
    assert victim.read_text() == "keep"
    assert (tmp_path / "elsewhere" / "v2.txt").read_text() == "keep"
    assert not (folder / "customers.csv").exists()  # custseg's own, replaced by the new set


def test_a_move_that_fails_midway_puts_everything_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A folder with the user's notes: files are moved one by one, as one transaction.
    (tmp_path / "notes.txt").write_text("mine")
    with forcing(True):
        _write(tmp_path, {"a.csv": "old a", "b.csv": "old b", "c.csv": "old c", "sub/d.csv": "d"})
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    real = os.replace
    calls: list[object] = []

    def failing(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 5:  # a.csv and b.csv are in place, c.csv set aside
            raise OSError(28, "No space left on device")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(UserError, match="No space left on device; the outputs there are as"):
        _write(tmp_path, {"a.csv": "new a", "b.csv": "new b", "c.csv": "new c", "sub/d.csv": "n"})
    monkeypatch.setattr(os, "replace", real)
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # one consistent set: the old one, manifest included
    assert not list(tmp_path.glob(".custseg-*-*"))


def test_an_old_file_that_cannot_be_put_back_is_kept_not_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with forcing(True):
        _write(tmp_path, {"a.csv": "old a", "b.csv": "old b"})
    real = os.replace

    def failing(src: object, dst: object) -> None:
        if str(dst).endswith("b.csv") and ".custseg-staging-" in str(src):
            raise OSError(28, "No space left on device")  # the move in fails...
        if str(dst) == str(tmp_path / "a.csv") and ".custseg-old-" in str(src):
            raise OSError(5, "Input/output error")  # ...and so does putting a.csv back
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(UserError, match="No space left on device"):
        _write(tmp_path, {"a.csv": "new a", "b.csv": "new b"})
    monkeypatch.setattr(os, "replace", real)
    kept = list(tmp_path.glob("custseg-earlier-outputs-*"))
    assert len(kept) == 1 and (kept[0] / "a.csv").read_text() == "old a"
    assert "could not be put back" in caplog.text
    assert (tmp_path / "b.csv").read_text() == "old b"


def _token(folder_fd: int) -> tuple[str, str]:
    def read(name: str) -> str:
        fd = os.open(name, os.O_RDONLY, dir_fd=folder_fd)
        with os.fdopen(fd) as fh:
            return fh.read()

    return read("customers.csv"), read("segments.csv")


def test_a_folder_of_outputs_switches_to_the_new_set_in_one_step(tmp_path: Path) -> None:
    import threading

    out = tmp_path / "out"
    _write(out, {"customers.csv": "0", "segments.csv": "0"})
    seen: list[tuple[str, str]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                fd = os.open(out, os.O_RDONLY)
            except FileNotFoundError:  # pragma: no cover - the path always names a folder
                seen.append(("missing", ""))
                continue
            try:
                seen.append(_token(fd))
            except FileNotFoundError:
                seen.append(("gone", ""))
            finally:
                os.close(fd)

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(1, 40):
        _write(out, {"customers.csv": str(i), "segments.csv": str(i)})
    stop.set()
    thread.join()
    # Through one handle on the folder, both files always come from the same set (a handle
    # on a set already replaced may find it removed: 'gone', never a mix).
    read = [p for p in seen if p[0] != "gone"]
    assert len(read) > 40 and all(a == b for a, b in read), [p for p in read if p[0] != p[1]][:3]
    assert _token(os.open(out, os.O_RDONLY)) == ("39", "39")
    assert not list(tmp_path.glob(".*custseg*")) and not list(out.glob(".custseg-*-*"))


def test_without_an_atomic_switch_the_set_is_still_moved_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custseg.io import outputs

    out = tmp_path / "out"
    _write(out, {"customers.csv": "old", "audiences/a.csv": "old"})
    first = out.stat().st_ino

    def unsupported(first: Path, second: Path) -> None:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(outputs, "_exchange", unsupported)
    _write(out, {"customers.csv": "new", "audiences/b.csv": "new"})
    assert out.stat().st_ino == first  # moved file by file into the same folder
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        MANIFEST,
        "audiences/b.csv",
        "customers.csv",
    ]
    assert (out / "customers.csv").read_text() == "new"
    # Run from inside the folder (a shell there keeps its folder): file by file as well.
    monkeypatch.undo()
    monkeypatch.chdir(out)
    _write(out, {"customers.csv": "newer"})
    assert out.stat().st_ino == first and (out / "customers.csv").read_text() == "newer"


def test_the_cli_refuses_before_any_work_and_force_writes_beside(
    tiny_csv: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "cv.pdf").write_text("mine")
    result = CliRunner().invoke(app, ["run", str(tiny_csv), "--out", str(home), "--k", "2"])
    assert result.exit_code == 2
    assert "holds files custseg did not write (cv.pdf)" in result.stderr
    assert "ingest" not in result.stderr  # refused before reading
    result = CliRunner().invoke(
        app, ["run", str(tiny_csv), "--out", str(home), "--k", "2", "--force"]
    )
    assert result.exit_code == 0, result.output
    assert (home / "cv.pdf").read_text() == "mine" and (home / "customers.csv").is_file()


def test_files_named_like_outputs_are_not_enough_to_be_custsegs(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text("my report")
    (tmp_path / "model.json").write_text("{}")
    assert previous_outputs(tmp_path) is None
    with pytest.raises(UserError, match="holds files custseg did not write"):
        _write(tmp_path, {"report.html": "custseg's"})
    assert (tmp_path / "report.html").read_text() == "my report"
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "k_selection.png").write_bytes(b"png")
    assert previous_outputs(figures) == {"k_selection.png"}  # custseg report's, earlier


@pytest.mark.parametrize(
    ("umask", "file_mode", "dir_mode"), [(0o077, 0o600, 0o700), (0o022, 0o644, 0o755)]
)
def test_outputs_follow_the_users_umask(
    tiny_csv: Path, tmp_path: Path, umask: int, file_mode: int, dir_mode: int
) -> None:
    # Files holding customer ids get the mode a plain open() gives under the user's umask
    # (docs/outputs.md): 0600 for a private umask.
    import stat
    import subprocess
    import sys

    out = tmp_path / "out"
    exe = Path(sys.executable).with_name("custseg")
    subprocess.run(
        [str(exe), "run", str(tiny_csv), "--k", "2", "--out", str(out), "-q"],
        check=True,
        capture_output=True,
        preexec_fn=lambda: os.umask(umask),
    )
    assert stat.S_IMODE((out / "customers.csv").stat().st_mode) == file_mode
    assert stat.S_IMODE((out / "model.json").stat().st_mode) == file_mode
    assert stat.S_IMODE((out / "audiences").stat().st_mode) == dir_mode
    for audience in (out / "audiences").iterdir():
        assert stat.S_IMODE(audience.stat().st_mode) == file_mode


def test_a_file_output_that_becomes_a_folder_moves_in_or_stays_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run that wrote customers.parquet as a file, then one that writes it as a folder of
    # parts (the MLlib path), into a folder holding a file of the user's (moved one by one).
    (tmp_path / "notes.txt").write_text("mine")
    with forcing(True):
        _write(tmp_path, {"customers.parquet": "file", "segments.csv": "old"})
    new = {"customers.parquet/persona=A/part-0.parquet": "a", "segments.csv": "new"}
    real = os.replace

    def failing(src: object, dst: object) -> None:
        if str(dst).endswith("segments.csv") and ".custseg-staging-" in str(src):
            raise OSError(28, "No space left on device")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(UserError, match="No space left on device"):
        _write(tmp_path, new)
    monkeypatch.setattr(os, "replace", real)
    assert (tmp_path / "customers.parquet").read_text() == "file"  # the old set, whole
    assert (tmp_path / "segments.csv").read_text() == "old"
    _write(tmp_path, new)
    assert (tmp_path / "customers.parquet" / "persona=A" / "part-0.parquet").read_text() == "a"
    assert (tmp_path / "segments.csv").read_text() == "new"
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_single_file_is_replaced_only_when_custseg_wrote_it(tmp_path: Path) -> None:
    from custseg.io.outputs import own_file

    def ours(head: bytes) -> bool:
        return head.startswith(b"# custseg")

    own_file(tmp_path / "new.txt", "--out", ours, "note")  # nothing there: fine
    (tmp_path / "mine.txt").write_text("# custseg wrote this\n")
    own_file(tmp_path / "mine.txt", "--out", ours, "note")
    (tmp_path / "user.txt").write_text("the user's\n")
    with pytest.raises(
        UserError, match=r"^--out \S+user.txt exists and is not marked as a note custseg"
    ):
        own_file(tmp_path / "user.txt", "--out", ours, "note")
    # A link is never replaced, even to a file of custseg's (the link's target would change).
    (tmp_path / "link.txt").symlink_to(tmp_path / "mine.txt")
    with pytest.raises(UserError, match=r"link.txt exists and is not marked as a note"):
        own_file(tmp_path / "link.txt", "--out", ours, "note")
    with pytest.raises(UserError, match=r"is a folder; give the note's file name"):
        own_file(tmp_path, "--out", ours, "note")
    # A pipe is refused without being opened (opening it would wait for a writer).
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UserError, match=r"pipe exists and is not marked as a note"):
        own_file(tmp_path / "pipe", "--out", lambda head: True, "note")
