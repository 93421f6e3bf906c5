"""`python -m mopd.data prepare`: download, resume, verify, extract and lay out datasets.

Everything runs against a local HTTP server on 127.0.0.1 that serves small fake archives built with the
real datasets' archive layouts; catalog checksums are replaced by those of the fakes.
"""
import dataclasses
import hashlib
import io
import os
import re
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gdown
import pytest

from mopd.data import catalog
from mopd.cli.data import main
from mopd.data.check import check_dataset
from mopd.data.prepare import extract_archive, prepare_dataset
from mopd.files.download import ChecksumError, Transfer, download_url, verify_file

FAST = Transfer(retries=0, retry_wait=0.0, timeout=5.0)


# ---------------------------------------------------------------- local HTTP server

class _ServerState:
    """What the test server serves, how it misbehaves per request, and the requests it saw."""

    def __init__(self):
        self.files = {}  # URL path -> bytes
        self.modes = []  # one per upcoming request: "normal", "drop" (half the body, then close), "ignore_range"
        self.requests = []  # (path, Range header or None)
        self.base_url = ""


def _handler(state):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            state.requests.append((self.path, self.headers.get("Range")))
            mode = state.modes.pop(0) if state.modes else "normal"
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            start = int(match.group(1)) if match and mode != "ignore_range" else None
            if start is not None and start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            payload = body if start is None else body[start:]
            self.send_response(200 if start is None else 206)
            if start is not None:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2] if mode == "drop" else payload)
            self.wfile.flush()

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def server():
    state = _ServerState()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


# ---------------------------------------------------------------- fake archives

def _tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _fakes(name):
    """Fake downloads of dataset `name` laid out like the real archives, and files the result must hold."""
    split = b'{"train": [], "val": [], "test": []}\n'
    if name == "caltech101":
        inner = _tar_gz({"101_ObjectCategories/accordion/image_0001.jpg": b"acc1",
                         "101_ObjectCategories/BACKGROUND_Google/image_0001.jpg": b"bg1"})
        downloads = {
            "caltech-101.zip": _zip({
                "caltech-101/101_ObjectCategories.tar.gz": inner,
                "caltech-101/Annotations.tar": b"not needed",
                "caltech-101/show_annotation.m": b"%",
            }),
            "split_zhou_Caltech101.json": split,
        }
        expected = {"101_ObjectCategories/accordion/image_0001.jpg": b"acc1", "split_zhou_Caltech101.json": split}
    elif name == "food101":
        downloads = {
            "food-101.tar.gz": _tar_gz({"food-101/images/apple_pie/1005649.jpg": b"pie",
                                        "food-101/meta/classes.txt": b"apple_pie\n", "food-101/README.txt": b"readme"}),
            "split_zhou_Food101.json": split,
        }
        expected = {"images/apple_pie/1005649.jpg": b"pie", "meta/classes.txt": b"apple_pie\n", "README.txt": b"readme"}
    elif name == "fgvc_aircraft":
        txt = {f"images_variant_{s}.txt": f"0034309 707-320 {s}\n".encode() for s in ("train", "val", "test")}
        members = {
            "fgvc-aircraft-2013b/data/images/0034309.jpg": b"plane",
            "fgvc-aircraft-2013b/data/variants.txt": b"707-320\n",
            "fgvc-aircraft-2013b/evaluation.m": b"%",
            **{f"fgvc-aircraft-2013b/data/{k}": v for k, v in txt.items()},
        }
        downloads = {"fgvc-aircraft-2013b.tar.gz": _tar_gz(members)}
        expected = {"images/0034309.jpg": b"plane", "variants.txt": b"707-320\n", **txt}
    elif name == "oxford_flowers":
        downloads = {
            "102flowers.tgz": _tar_gz({"jpg/image_00001.jpg": b"flower"}),
            "imagelabels.mat": b"MATLAB 5.0 fake labels",
            "cat_to_name.json": b'{"1": "pink primrose"}\n',
            "split_zhou_OxfordFlowers.json": split,
        }
        expected = {"jpg/image_00001.jpg": b"flower", "imagelabels.mat": b"MATLAB 5.0 fake labels"}
    elif name == "sun397":
        downloads = {
            "SUN397.tar.gz": _tar_gz({"SUN397/a/abbey/sun_aaa.jpg": b"abbey", "SUN397/ClassName.txt": b"/a/abbey\n"}),
            "Partitions.zip": _zip({"ClassName.txt": b"/a/abbey\n", "Training_01.txt": b"/a/abbey/sun_aaa.jpg\n"}),
            "split_zhou_SUN397.json": split,
        }
        expected = {
            "SUN397/a/abbey/sun_aaa.jpg": b"abbey",
            "ClassName.txt": b"/a/abbey\n",
            "Training_01.txt": b"/a/abbey/sun_aaa.jpg\n",
        }
    elif name == "imagenet_sketch":
        downloads = {"ImageNet-Sketch.zip": _zip({"sketch/n01440764/sketch_0.JPEG": b"tench"}),
                     "classnames.txt": b"n01440764 tench\n"}
        expected = {"images/n01440764/sketch_0.JPEG": b"tench", "classnames.txt": b"n01440764 tench\n"}
    else:
        raise AssertionError(name)
    return downloads, expected


def _use_fake_checksums(monkeypatch, name, downloads, **overrides):
    """Point the catalog's checksums for `name` at the fake downloads (or at `overrides` per file name)."""
    entry = catalog.CATALOG[name]
    def fake_checks(file_name):
        data = downloads[file_name]
        checks = {"size": len(data), "md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
        return {**checks, **overrides.get(file_name, {})}

    sources = tuple(
        dataclasses.replace(s, **fake_checks(s.name)) if s.name in downloads else s for s in entry.sources
    )
    monkeypatch.setitem(catalog.CATALOG, name, dataclasses.replace(entry, sources=sources))


def _serve(server, name, downloads):
    for file_name, data in downloads.items():
        server.files[f"/{name}/{file_name}"] = data
    return f"{server.base_url}/{name}"


def _no_gdrive(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("Google Drive must not be used in this test")
    monkeypatch.setattr(gdown, "download", refuse)


# ---------------------------------------------------------------- end to end

def _entries(folder) -> list[str]:
    """The sorted entries of a dataset folder, without the lock file that prepare leaves there."""
    return sorted(name for name in os.listdir(folder) if name != ".prepare.lock")


LAYOUT_CASES = ["caltech101", "food101", "fgvc_aircraft", "oxford_flowers", "sun397", "imagenet_sketch"]


@pytest.mark.parametrize("name", LAYOUT_CASES)
def test_prepare_downloads_verifies_and_extracts_into_the_layout_that_check_accepts(
    name, server, monkeypatch, tmp_path, capsys,
):
    _no_gdrive(monkeypatch)
    downloads, expected = _fakes(name)
    _use_fake_checksums(monkeypatch, name, downloads)
    mirror = _serve(server, name, downloads)
    root = tmp_path / "data"
    assert main(["prepare", name, "--root", str(root), "--mirror", mirror]) == 0
    folder = root / catalog.CATALOG[name].folder
    for relative, data in expected.items():
        assert (folder / relative).read_bytes() == data, relative
    assert sorted(path for path, _ in server.requests) == sorted(f"/{name}/{f}" for f in downloads)
    assert not (folder / ".downloads").exists()
    capsys.readouterr()
    assert main(["check", "--root", str(root), name]) == 0
    assert f"{name}: ready" in capsys.readouterr().out


def test_prepare_keeps_only_the_data_folder_of_the_aircraft_archive(server, monkeypatch, tmp_path):
    downloads, _ = _fakes("fgvc_aircraft")
    _use_fake_checksums(monkeypatch, "fgvc_aircraft", downloads)
    root = tmp_path / "data"
    prepare_dataset(str(root), "fgvc_aircraft", mirror=_serve(server, "fgvc_aircraft", downloads), transfer=FAST)
    assert _entries(root / "fgvc_aircraft") == [
        "images", "images_variant_test.txt", "images_variant_train.txt", "images_variant_val.txt", "variants.txt",
    ]


def test_prepares_started_together_fetch_each_file_once_and_all_find_the_dataset_ready(server, monkeypatch, tmp_path):
    _no_gdrive(monkeypatch)
    downloads, expected = _fakes("oxford_flowers")
    _use_fake_checksums(monkeypatch, "oxford_flowers", downloads)
    mirror = _serve(server, "oxford_flowers", downloads)
    root = tmp_path / "data"
    go_read, go_write = os.pipe()
    children = []
    for job in range(4):
        pid = os.fork()
        if pid == 0:  # each a job of a study that prepares its dataset first
            code = 1
            try:
                os.read(go_read, 1)
                code = 0 if prepare_dataset(str(root), "oxford_flowers", mirror=mirror, transfer=FAST) == [] else 3
            finally:
                os._exit(code)
        children.append(pid)
    os.write(go_write, b"x" * len(children))
    assert [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children] == [0] * len(children)
    assert sorted(path for path, _ in server.requests) == sorted(f"/oxford_flowers/{f}" for f in downloads)
    for relative, data in expected.items():
        assert (root / "oxford_flowers" / relative).read_bytes() == data, relative


def test_url_override_fetches_that_file_from_its_own_address(server, monkeypatch, tmp_path):
    _no_gdrive(monkeypatch)
    downloads, _ = _fakes("caltech101")
    _use_fake_checksums(monkeypatch, "caltech101", downloads)
    mirror = _serve(server, "caltech101", {"caltech-101.zip": downloads["caltech-101.zip"]})
    server.files["/elsewhere/split.json"] = downloads["split_zhou_Caltech101.json"]
    root = tmp_path / "data"
    left = prepare_dataset(
        str(root), "caltech101", mirror=mirror,
        urls={"split_zhou_Caltech101.json": f"{server.base_url}/elsewhere/split.json"}, transfer=FAST,
    )
    assert left == []
    assert [path for path, _ in server.requests] == ["/caltech101/caltech-101.zip", "/elsewhere/split.json"]


def test_url_override_with_an_unknown_file_name_lists_the_valid_names(tmp_path):
    with pytest.raises(KeyError, match="split_zhou_Caltech101.json"):
        prepare_dataset(str(tmp_path), "caltech101", urls={"split.json": "http://127.0.0.1:9/x"})


def test_second_prepare_of_a_ready_dataset_makes_no_request(server, monkeypatch, tmp_path, capsys):
    _no_gdrive(monkeypatch)
    downloads, _ = _fakes("oxford_flowers")
    _use_fake_checksums(monkeypatch, "oxford_flowers", downloads)
    mirror = _serve(server, "oxford_flowers", downloads)
    root = str(tmp_path / "data")
    assert main(["prepare", "oxford_flowers", "--root", root, "--mirror", mirror]) == 0
    served = len(server.requests)
    assert served == len(downloads)
    capsys.readouterr()
    assert main(["prepare", "oxford_flowers", "--root", root, "--mirror", mirror]) == 0
    assert len(server.requests) == served
    assert "nothing to do" in capsys.readouterr().out


def test_prepare_fetches_only_the_items_that_are_missing(server, monkeypatch, tmp_path):
    downloads, _ = _fakes("oxford_flowers")
    _use_fake_checksums(monkeypatch, "oxford_flowers", downloads)
    mirror = _serve(server, "oxford_flowers", downloads)
    root = tmp_path / "data"
    prepare_dataset(str(root), "oxford_flowers", mirror=mirror, transfer=FAST)
    (root / "oxford_flowers" / "imagelabels.mat").unlink()
    server.requests.clear()
    assert prepare_dataset(str(root), "oxford_flowers", mirror=mirror, transfer=FAST) == []
    assert server.requests == [("/oxford_flowers/imagelabels.mat", None)]


def test_kept_archive_is_reused_without_a_request(server, monkeypatch, tmp_path):
    downloads, expected = _fakes("oxford_flowers")
    _use_fake_checksums(monkeypatch, "oxford_flowers", downloads)
    mirror = _serve(server, "oxford_flowers", downloads)
    root = tmp_path / "data"
    prepare_dataset(str(root), "oxford_flowers", mirror=mirror, keep_archives=True, transfer=FAST)
    folder = root / "oxford_flowers"
    assert (folder / ".downloads" / "102flowers.tgz").read_bytes() == downloads["102flowers.tgz"]
    (folder / "jpg" / "image_00001.jpg").unlink()
    server.requests.clear()
    assert prepare_dataset(str(root), "oxford_flowers", mirror=mirror, transfer=FAST) == []
    assert server.requests == []
    assert (folder / "jpg" / "image_00001.jpg").read_bytes() == expected["jpg/image_00001.jpg"]
    assert not (folder / ".downloads").exists()


def test_archive_wrapped_in_one_extra_folder_is_unwrapped(server, monkeypatch, tmp_path):
    downloads = {"Partitions.zip": _zip({"Partitions/ClassName.txt": b"/a/abbey\n", "Partitions/Testing_01.txt": b"t"})}
    _use_fake_checksums(monkeypatch, "sun397", downloads)
    root = tmp_path / "data"
    (root / "sun397" / "SUN397" / "a").mkdir(parents=True)
    (root / "sun397" / "split_zhou_SUN397.json").write_text("{}")
    assert prepare_dataset(str(root), "sun397", mirror=_serve(server, "sun397", downloads), transfer=FAST) == []
    assert (root / "sun397" / "ClassName.txt").read_bytes() == b"/a/abbey\n"
    assert (root / "sun397" / "Testing_01.txt").read_bytes() == b"t"


# ---------------------------------------------------------------- resume

def test_interrupted_download_is_resumed_with_a_range_request_on_the_next_run(server, monkeypatch, tmp_path):
    downloads, expected = _fakes("oxford_flowers")
    downloads["imagelabels.mat"] = os.urandom(200_000)
    _use_fake_checksums(monkeypatch, "oxford_flowers", downloads)
    mirror = _serve(server, "oxford_flowers", downloads)
    root = tmp_path / "data"
    folder = root / "oxford_flowers"
    server.modes = ["normal", "drop"]  # 102flowers.tgz arrives, imagelabels.mat is cut in half
    with pytest.raises(ConnectionError, match=r"100000 bytes received are kept in .*imagelabels\.mat\.part"):
        prepare_dataset(str(root), "oxford_flowers", mirror=mirror, transfer=FAST)
    part = folder / ".downloads" / "imagelabels.mat.part"
    assert part.read_bytes() == downloads["imagelabels.mat"][:100_000]
    assert (folder / "jpg" / "image_00001.jpg").read_bytes() == expected["jpg/image_00001.jpg"]

    server.requests.clear()
    assert prepare_dataset(str(root), "oxford_flowers", mirror=mirror, transfer=FAST) == []
    assert server.requests[0] == ("/oxford_flowers/imagelabels.mat", "bytes=100000-")
    assert (folder / "imagelabels.mat").read_bytes() == downloads["imagelabels.mat"]
    assert not part.exists()


def test_download_dropped_mid_file_is_resumed_within_the_same_call(server, tmp_path):
    data = os.urandom(150_001)
    server.files["/big.bin"] = data
    server.modes = ["drop"]
    dest = tmp_path / "big.bin"
    download_url(f"{server.base_url}/big.bin", str(dest), md5=hashlib.md5(data).hexdigest(),
                 retries=2, retry_wait=0.0, timeout=5.0)
    assert server.requests == [("/big.bin", None), ("/big.bin", f"bytes={150_001 // 2}-")]
    assert dest.read_bytes() == data
    assert not (tmp_path / "big.bin.part").exists()


def test_server_that_ignores_range_gets_a_clean_restart(server, tmp_path):
    data = os.urandom(50_000)
    server.files["/f.bin"] = data
    server.modes = ["ignore_range"]
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(b"x" * 1000)  # left by an earlier, interrupted run
    download_url(f"{server.base_url}/f.bin", str(dest), size=len(data), retries=0, timeout=5.0)
    assert server.requests == [("/f.bin", "bytes=1000-")]
    assert dest.read_bytes() == data


def test_partial_file_that_is_already_complete_is_kept_when_the_server_answers_416(server, tmp_path):
    data = os.urandom(4096)
    server.files["/f.bin"] = data
    (tmp_path / "f.bin.part").write_bytes(data)
    download_url(f"{server.base_url}/f.bin", str(tmp_path / "f.bin"), sha256=hashlib.sha256(data).hexdigest(),
                 retries=0, timeout=5.0)
    assert server.requests == [("/f.bin", "bytes=4096-")]
    assert (tmp_path / "f.bin").read_bytes() == data


def test_partial_file_of_the_catalog_size_is_verified_without_a_request(server, tmp_path):
    data = os.urandom(4096)
    server.files["/f.bin"] = data
    (tmp_path / "f.bin.part").write_bytes(data)
    download_url(f"{server.base_url}/f.bin", str(tmp_path / "f.bin"), size=len(data), retries=0, timeout=5.0)
    assert server.requests == []
    assert (tmp_path / "f.bin").read_bytes() == data


def test_http_error_says_the_status_and_the_callers_hint(server, tmp_path):
    with pytest.raises(ConnectionError, match=r"HTTP 404.*; use a copy"):
        download_url(f"{server.base_url}/gone.tgz", str(tmp_path / "gone.tgz"), retries=0, timeout=5.0, hint="use a copy")
    assert not (tmp_path / "gone.tgz").exists()


def test_prepare_names_its_url_override_when_a_file_is_gone(server, monkeypatch, tmp_path):
    _no_gdrive(monkeypatch)
    with pytest.raises(ConnectionError, match=r"HTTP 404.*--url NAME=URL"):
        prepare_dataset(str(tmp_path), "caltech101", mirror=f"{server.base_url}/empty", transfer=FAST)


# ---------------------------------------------------------------- verification

def test_checksum_mismatch_reports_expected_and_actual_and_corrupts_nothing(server, monkeypatch, tmp_path, capsys):
    downloads, _ = _fakes("caltech101")
    bad = "0" * 32
    _use_fake_checksums(monkeypatch, "caltech101", downloads, **{"caltech-101.zip": {"md5": bad}})
    mirror = _serve(server, "caltech101", downloads)
    root = tmp_path / "data"
    folder = root / "caltech-101"
    folder.mkdir(parents=True)
    (folder / "split_zhou_Caltech101.json").write_bytes(b"user's split")
    rc = main(["prepare", "caltech101", "--root", str(root), "--mirror", mirror])
    out = capsys.readouterr().out
    assert rc == 1
    actual = hashlib.md5(downloads["caltech-101.zip"]).hexdigest()
    assert "md5 mismatch" in out and f"expected {bad}, got {actual}" in out
    part = folder / ".downloads" / "caltech-101.zip.part"
    assert str(part) in out
    assert part.read_bytes() == downloads["caltech-101.zip"]
    assert (folder / "split_zhou_Caltech101.json").read_bytes() == b"user's split"
    assert _entries(folder) == [".downloads", "split_zhou_Caltech101.json"]


def test_verify_file_checks_size_then_digests(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    verify_file(str(path), size=3, md5=hashlib.md5(b"abc").hexdigest(), sha256=hashlib.sha256(b"abc").hexdigest())
    with pytest.raises(ChecksumError, match="expected 4 bytes, got 3"):
        verify_file(str(path), size=4)
    with pytest.raises(ChecksumError, match=f"sha256 mismatch.*got {hashlib.sha256(b'abc').hexdigest()}"):
        verify_file(str(path), sha256="f" * 64)


def test_archive_with_a_different_layout_is_reported_and_kept(server, monkeypatch, tmp_path):
    downloads = {"food-101.tar.gz": _tar_gz({"food101/pictures/a.jpg": b"x"})}
    _use_fake_checksums(monkeypatch, "food101", downloads)
    root = tmp_path / "data"
    with pytest.raises(ValueError, match=r"does not hold \['images/', 'meta/'\] where expected.*nothing was moved"):
        prepare_dataset(str(root), "food101", mirror=_serve(server, "food101", downloads), transfer=FAST)
    assert (root / "food-101" / ".downloads" / "food-101.tar.gz").read_bytes() == downloads["food-101.tar.gz"]
    assert _entries(root / "food-101") == [".downloads"]
    assert os.listdir(root / "food-101" / ".downloads") == ["food-101.tar.gz"]


# ---------------------------------------------------------------- extraction safety

def test_tar_member_escaping_the_destination_is_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(_tar_gz({"ok/a.txt": b"a", "../escaped.txt": b"evil"}))
    with pytest.raises(ValueError, match=r"'\.\./escaped\.txt'.*refusing"):
        extract_archive(str(archive), str(tmp_path / "out"))
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "out" / "ok").exists()


def test_tar_symlink_pointing_outside_the_destination_is_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        link = tarfile.TarInfo("data/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../outside"
        tf.addfile(link)
    archive = tmp_path / "evil.tar"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="data/link"):
        extract_archive(str(archive), str(tmp_path / "out"))
    assert not os.path.lexists(tmp_path / "out" / "data" / "link")


def test_zip_member_with_an_absolute_path_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip({"/etc/evil.txt": b"evil"}))
    with pytest.raises(ValueError, match="evil.txt"):
        extract_archive(str(archive), str(tmp_path / "out"))


def test_file_that_is_not_an_archive_is_reported(tmp_path):
    page = tmp_path / "food-101.tar.gz"
    page.write_bytes(b"<html>moved</html>")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        extract_archive(str(page), str(tmp_path / "out"))


# ---------------------------------------------------------------- Google Drive and manual datasets

def _fake_gdown(calls, payload=b"gdrive bytes\n"):
    def download(*, id, output, quiet, resume):  # noqa: A002 (gdown's keyword)
        calls.append(id)
        with open(output, "wb") as f:
            f.write(payload)
        return output
    return download


def test_split_file_comes_from_google_drive_with_the_catalog_id(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(gdown, "download", _fake_gdown(calls))
    folder = tmp_path / "caltech-101"
    (folder / "101_ObjectCategories" / "accordion").mkdir(parents=True)
    (folder / "101_ObjectCategories" / "accordion" / "image_0001.jpg").write_bytes(b"x")
    assert prepare_dataset(str(tmp_path), "caltech101", transfer=FAST) == []
    assert calls == ["1hyarUivQE36mY6jSomru6Fjd-JzwcCzN"]
    assert (folder / "split_zhou_Caltech101.json").read_bytes() == b"gdrive bytes\n"


def test_google_drive_failure_says_where_to_download_the_file_by_hand(monkeypatch, tmp_path):
    def refuse(**kwargs):
        raise gdown.exceptions.FileURLRetrievalError("Too many users have viewed or downloaded this file")
    monkeypatch.setattr(gdown, "download", refuse)
    (tmp_path / "dtd" / "images" / "banded").mkdir(parents=True)
    for sub in ("imdb", "labels"):
        (tmp_path / "dtd" / sub).mkdir()
        (tmp_path / "dtd" / sub / "x.txt").write_text("x")
    (tmp_path / "dtd" / "images" / "banded" / "a.jpg").write_bytes(b"x")
    with pytest.raises(ConnectionError, match=r"drive\.google\.com/file/d/1u3_QfB467jqHgNXC00UIzbLZRQCg2S7x/view"):
        prepare_dataset(str(tmp_path), "dtd", transfer=FAST)


def test_imagenet_variant_copies_the_class_names_from_imagenet_instead_of_downloading(monkeypatch, tmp_path):
    _no_gdrive(monkeypatch)
    (tmp_path / "imagenet").mkdir()
    (tmp_path / "imagenet" / "classnames.txt").write_text("n01440764 tench\n")
    (tmp_path / "imagenet-rendition" / "imagenet-r" / "n01443537").mkdir(parents=True)
    (tmp_path / "imagenet-rendition" / "imagenet-r" / "n01443537" / "art_0.jpg").write_bytes(b"x")
    assert prepare_dataset(str(tmp_path), "imagenet_r", transfer=FAST) == []
    assert (tmp_path / "imagenet-rendition" / "classnames.txt").read_text() == "n01440764 tench\n"


def test_imagenet_prepare_fetches_the_class_names_and_prints_the_manual_step(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(gdown, "download", _fake_gdown(calls, b"n01440764 tench\n"))
    assert main(["prepare", "imagenet", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert calls == ["1-61f_ol79pViBFDG_IDlUQSwoLcn2XXF"]
    assert (tmp_path / "imagenet" / "classnames.txt").read_text() == "n01440764 tench\n"
    assert os.path.join(str(tmp_path), "imagenet", "images", "train") + os.sep in out
    assert "manual step" in out and "https://image-net.org" in out


def test_stanford_cars_without_a_mirror_prints_the_manual_step_and_downloads_nothing_else(
    server, monkeypatch, tmp_path, capsys,
):
    calls = []
    monkeypatch.setattr(gdown, "download", _fake_gdown(calls))
    assert main(["prepare", "stanford_cars", "--root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert calls == ["1ObCFbaAgVu0I-k_Au-gIUcefirdAuizT"]
    assert "no longer serves the files" in out and "--mirror" in out
    assert _entries(tmp_path / "stanford_cars") == ["split_zhou_StanfordCars.json"]


def test_stanford_cars_from_a_mirror_is_laid_out_like_the_original_release(server, monkeypatch, tmp_path):
    _no_gdrive(monkeypatch)
    downloads = {
        "cars_train.tgz": _tar_gz({"cars_train/00001.jpg": b"train"}),
        "cars_test.tgz": _tar_gz({"cars_test/00001.jpg": b"test"}),
        "car_devkit.tgz": _tar_gz({"devkit/cars_meta.mat": b"meta", "devkit/cars_train_annos.mat": b"annos"}),
        "cars_test_annos_withlabels.mat": b"test annos",
        "split_zhou_StanfordCars.json": b"{}",
    }
    _use_fake_checksums(monkeypatch, "stanford_cars", downloads)
    mirror = _serve(server, "cars", downloads)
    assert prepare_dataset(str(tmp_path), "stanford_cars", mirror=mirror, transfer=FAST) == []
    folder = tmp_path / "stanford_cars"
    assert (folder / "devkit" / "cars_meta.mat").read_bytes() == b"meta"
    assert (folder / "cars_test_annos_withlabels.mat").read_bytes() == b"test annos"
    assert check_dataset(str(tmp_path), "stanford_cars") == []
