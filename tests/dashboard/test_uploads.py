"""Dashboard uploads: a private folder per process, files 0600, no link written through."""

from pathlib import Path

import pytest

from custseg.dashboard.uploads import save_upload


def test_uploads_are_private_to_the_process_and_stale_ones_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import stat
    import subprocess
    import sys
    import tempfile

    from custseg.dashboard import uploads

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(uploads, "_FOLDER", [])
    # A folder left by a process that has ended (a pid no process has now) is removed; one
    # of a running process, or another user's, is not.
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f"custseg-uploads-{int(done.stdout)}-abc"
    stale.mkdir()
    (stale / "old.csv").write_text("x")
    running = tmp_path / f"custseg-uploads-{os.getppid()}-def"
    running.mkdir()
    first = save_upload("my shop.csv", b"a,b\n1,2\n")
    assert not stale.exists() and running.exists()
    folder = first.parent
    assert folder.name.startswith(f"custseg-uploads-{os.getpid()}-")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    again = save_upload("other name.csv", b"a,b\n1,2\n")
    assert again.name.split("-")[0] == first.name.split("-")[0]
    assert first.read_bytes() == b"a,b\n1,2\n" and first.name.endswith("-my_shop.csv")
    # A link planted where the next upload goes is replaced, never written through.
    target = tmp_path / "victim.txt"
    target.write_text("keep")
    import hashlib

    digest = hashlib.sha256(b"new").hexdigest()[:20]
    (folder / f"{digest}-n.csv").symlink_to(target)
    path = save_upload("n.csv", b"new")
    assert path.read_bytes() == b"new" and not path.is_symlink()
    assert target.read_text() == "keep"


def test_stale_uploads_go_at_start_up_and_a_process_removes_its_own_at_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys
    import tempfile

    from custseg.dashboard import uploads

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(uploads, "_CHECKED", [])
    # A dashboard process saves an upload and exits: its folder goes with it.
    code = (
        "import tempfile, sys; tempfile.tempdir = sys.argv[1]\n"
        "from custseg.dashboard.uploads import save_upload\n"
        "print(save_upload('a.csv', b'x,y\\n').parent)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    folder = Path(done.stdout.strip())
    assert folder.parent == tmp_path and not folder.exists()
    # One left by a killed process is removed when a dashboard starts, before any upload.
    stale = tmp_path / f"{uploads.UPLOAD_PREFIX}{int(folder.name.split('-')[2])}-zzz"
    stale.mkdir()
    (stale / "orders.csv").write_text("customer data")
    uploads.remove_stale_uploads()
    assert not stale.exists()
