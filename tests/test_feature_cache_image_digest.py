"""The digest of a split's images: their bytes, recorded under their stat signature, hashed again after any change."""
from __future__ import annotations

import hashlib
import os
import shutil
import time

import pytest

from mopd.feature_cache import image_digest
from mopd.feature_cache.image_digest import ImageDigests


def _images(folder, count: int = 4) -> list[str]:
    os.makedirs(folder, exist_ok=True)
    paths = []
    for index in range(count):
        path = os.path.join(folder, f"{index}.jpg")
        with open(path, "wb") as handle:
            handle.write(bytes([index]) * 1000)
        paths.append(path)
    return paths


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """The files hashed (read) by the digest, in order; files count as settled at once."""
    monkeypatch.setattr(image_digest, "SETTLED_NS", 0)
    calls: list[str] = []
    file_sha256 = image_digest.file_sha256

    def counting(path: str) -> str:
        calls.append(path)
        return file_sha256(path)

    monkeypatch.setattr(image_digest, "file_sha256", counting)
    return calls


def _next_tick() -> None:
    """Let the clock pass a file-timestamp tick (a few ms), so that a change moves the change time on."""
    time.sleep(0.05)


def _expected(paths: list[str]) -> str:
    lines = "".join(f"{path}\t{hashlib.sha256(open(path, 'rb').read()).hexdigest()}\n" for path in paths)
    return hashlib.sha256(lines.encode()).hexdigest()


def test_the_digest_is_the_bytes_of_every_image_and_a_recorded_one_reads_none(tmp_path, hashed):
    paths, digests = _images(tmp_path / "images"), ImageDigests(str(tmp_path / "records"))
    first = digests.digest(paths)
    assert first.images_digest == _expected(paths) and first.recordable and len(hashed) == 4
    digests.record(first)
    again = digests.digest(paths)
    assert again.images_digest == first.images_digest and len(hashed) == 4  # stat only
    assert digests.digest(paths, check="content").images_digest == first.images_digest and len(hashed) == 8


def test_a_same_size_replacement_with_its_times_set_back_changes_the_digest(tmp_path, hashed):
    paths, digests = _images(tmp_path / "images"), ImageDigests(str(tmp_path / "records"))
    first = digests.digest(paths)
    digests.record(first)
    before = os.stat(paths[1])
    _next_tick()
    with open(paths[1], "wb") as handle:  # what `cp -p` of another image of the same size does
        handle.write(b"\x07" * before.st_size)
    os.utime(paths[1], ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (os.stat(paths[1]).st_size, os.stat(paths[1]).st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    changed = digests.digest(paths)
    assert changed.images_digest == _expected(paths) != first.images_digest


def test_a_changed_status_with_the_same_bytes_is_hashed_again_and_gives_the_same_digest(tmp_path, hashed):
    paths, digests = _images(tmp_path / "images"), ImageDigests(str(tmp_path / "records"))
    first = digests.digest(paths)
    digests.record(first)
    _next_tick()
    os.chmod(paths[0], 0o600)  # moves the change time on
    again = digests.digest(paths)
    assert again.images_digest == first.images_digest and again.stat_digest != first.stat_digest
    assert len(hashed) == 8


def test_files_changed_moments_ago_are_hashed_but_not_recorded(tmp_path):
    paths, digests = _images(tmp_path / "images"), ImageDigests(str(tmp_path / "records"))
    fresh = digests.digest(paths)
    assert not fresh.recordable
    digests.record(fresh)
    assert digests.records() == [] and not os.path.exists(tmp_path / "records")


def test_a_damaged_record_is_ignored_and_a_missing_image_is_named_with_nothing_written(tmp_path, hashed):
    paths, digests = _images(tmp_path / "images"), ImageDigests(str(tmp_path / "records"))
    first = digests.digest(paths)
    digests.record(first)
    (record,) = digests.records()
    with open(record, "w") as handle:
        handle.write('{"stat_digest": "')
    assert digests.digest(paths).images_digest == first.images_digest and len(hashed) == 8

    shutil.rmtree(tmp_path / "records")
    os.remove(paths[2])
    with pytest.raises(FileNotFoundError, match="2.jpg"):
        digests.digest(paths)
    assert not os.path.exists(tmp_path / "records")
