"""The service context's keys: made once, the same for every process that starts with the data folder."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from careleads.service.context import _key_text


def _start_together(key_file: Path, starters: int) -> tuple[list[str], list[BaseException]]:
    """`starters` threads released at once, each reading or making the key; their keys and failures."""
    start = threading.Barrier(starters)
    got: list[str] = []
    failed: list[BaseException] = []

    def worker(i: int) -> None:
        start.wait()
        try:
            got.append(_key_text("", None, key_file, create=True, make=f"key-{i}", setting="KEY_FILE"))
        except BaseException as exc:  # noqa: BLE001 - every failure is the finding
            failed.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return got, failed


@pytest.mark.parametrize("starters", [2, 4, 8])
def test_processes_starting_together_on_a_new_data_folder_share_one_key(
    tmp_path: Path, starters: int
) -> None:
    """`serve --workers N` starts its workers at once on a folder with no key yet: each must end up with
    the one key on disk (a worker with a key of its own would encrypt and pseudonymise leads the others
    cannot read or find), and none may fail to start. Threads stand for the workers, released together,
    many times over."""
    for round_ in range(40):
        key_file = tmp_path / f"round-{round_}" / "keys" / "encryption.key"
        got, failed = _start_together(key_file, starters)
        assert failed == []
        on_disk = key_file.read_text(encoding="utf-8").strip()
        assert got == [on_disk] * starters
        assert sorted(p.name for p in key_file.parent.iterdir()) == ["encryption.key"]  # no draft left
        assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_data_folder_that_cannot_hold_a_key_says_what_to_do_without_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system without hard links (some network and FUSE mounts) cannot take the key into place:
    the error names the key and the setting, not the server's path, and leaves no draft behind."""
    import errno
    import os

    from careleads.errors import ConfigError

    def no_links(*_args: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    key_file = tmp_path / "keys" / "encryption.key"
    with pytest.raises(ConfigError) as refused:
        _key_text("", None, key_file, create=True, make="k", setting="CARELEADS_ENCRYPTION_KEY_FILE")
    message = str(refused.value)
    assert "keys/encryption.key" in message and "CARELEADS_ENCRYPTION_KEY_FILE" in message
    assert str(tmp_path) not in message
    assert list(key_file.parent.iterdir()) == []
