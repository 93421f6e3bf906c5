"""Files that concurrent jobs share (few-shot splits, created split files, CLIP weights) are made once, whole."""
from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import threading

import pytest
import torch

from e2e import BACKENDS, REPO_ROOT, TINY, backend_env, config
from mopd.clip.backbones import BACKBONES, Backbone
from mopd.clip.backbones import TINY as TINY_CLIP
from mopd.clip.loading import load_clip
from mopd.data.synthetic import generate_synthetic_dataset

JOBS = 12


def _train_args(data_root: str) -> list[str]:
    """A base-to-new MoPD job on the synthetic dataset, as the scripts start it (without training)."""
    return [
        "--root", data_root, "--seed", "1", "--trainer", "MoPD",
        "--dataset-config-file", config("datasets", "synthetic.yaml"),
        "--config-file", config("trainers", "MoPD", "vit_b16_ep25_ctxv1.yaml"), "--no-train",
        *TINY, "DATASET.NUM_SHOTS", "4", "DATASET.SUBSAMPLE_CLASSES", "base",
    ]


def _files(folder) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


@pytest.mark.parametrize("backend", BACKENDS)
def test_twelve_jobs_started_together_without_a_fewshot_cache_sample_it_once_and_agree(backend, tmp_path):
    data_root = tmp_path / "data"
    generate_synthetic_dataset(str(data_root), num_classes=6, train_per_class=8, val_per_class=4, test_per_class=2)
    fewshot_dir = data_root / "synthetic" / "split_fewshot"
    assert not fewshot_dir.exists()

    results = tmp_path / "jobs"
    subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "tests", "concurrent_setup.py"), str(JOBS), str(results), "--",
         *_train_args(str(data_root))],
        cwd=str(tmp_path), env=backend_env(backend), check=True, timeout=600,
    )

    outcomes = []
    for job in range(JOBS):
        result = json.loads((results / str(job) / "result.json").read_text())
        assert result["returncode"] == 0, (results / str(job) / "stderr").read_text()[-3000:]
        outcomes.append((result["train"], result["val"]))
    assert all(outcome == outcomes[0] for outcome in outcomes)  # identical splits in every job
    logs = [(results / str(job) / "run" / "log.txt").read_text() for job in range(JOBS)]
    assert sum("Saved few-shot split to" in log for log in logs) == 1  # sampled once ...
    assert sum("Loading few-shot split from" in log for log in logs) == JOBS - 1  # ... and read by the rest

    # The cache is the one complete JSON file (no temporary left), and it holds what every job used.
    files = _files(fewshot_dir)
    assert sorted(files) == [".shot_4-seed_1.json.lock", "shot_4-seed_1.json"]
    cache = json.loads(files["shot_4-seed_1.json"])
    image_dir = data_root / "synthetic" / "images"
    cached_train = [str(image_dir / record[0]) for record in cache["train"]]
    assert len(cached_train) == 6 * 4
    assert set(outcomes[0][0]) <= set(cached_train)  # jobs keep the base half of the cached classes


class _WeightServer:
    """A local HTTP server of one weight file at /<sha256>/<name>, counting the requests for it."""

    def __init__(self, payload: bytes, name: str, *, served: bytes | None = None) -> None:
        body = payload if served is None else served
        requests = self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/{hashlib.sha256(payload).hexdigest()}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tiny_weights():
    buffer = io.BytesIO()
    torch.save(load_clip(TINY_CLIP, seed=4).state_dict(), buffer)
    return buffer.getvalue()


def _serve_backbone(monkeypatch, payload: bytes, **kwargs) -> _WeightServer:
    """Register a backbone with tiny's architecture whose weights the returned local server offers."""
    server = _WeightServer(payload, "Tiny-Served.pt", **kwargs)
    monkeypatch.setitem(BACKBONES, "Tiny-Served", Backbone("Tiny-Served", server.url, BACKBONES[TINY_CLIP].architecture))
    return server


def test_jobs_started_together_without_clip_weights_download_them_once_and_all_load_them(
    tmp_path, monkeypatch, tiny_weights
):
    server = _serve_backbone(monkeypatch, tiny_weights)
    cache = tmp_path / "clip"
    go_read, go_write = os.pipe()
    children = []
    for job in range(8):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.read(go_read, 1)
                model = load_clip("Tiny-Served", download_root=str(cache))
                torch.save(model.state_dict(), tmp_path / f"job{job}.pt")
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    os.write(go_write, b"x" * len(children))
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
    server.close()
    assert codes == [0] * len(children)
    assert len(server.requests) == 1  # one download for all the jobs
    assert sorted(os.listdir(cache)) == [".Tiny-Served.pt.lock", "Tiny-Served.pt"]  # no partial file left
    assert (cache / "Tiny-Served.pt").read_bytes() == tiny_weights
    expected = load_clip(TINY_CLIP, seed=4).state_dict()
    for job in range(len(children)):
        got = torch.load(tmp_path / f"job{job}.pt", weights_only=True)
        assert all(torch.equal(got[key], expected[key]) for key in expected)


def test_a_damaged_clip_download_never_becomes_the_cache_file(tmp_path, monkeypatch, tiny_weights):
    server = _serve_backbone(monkeypatch, tiny_weights, served=tiny_weights[: len(tiny_weights) // 2])
    cache = tmp_path / "clip"
    with pytest.raises(ValueError, match=r"is damaged \(sha256 mismatch .*delete .*Tiny-Served.pt.part and retry"):
        load_clip("Tiny-Served", download_root=str(cache))
    server.close()
    assert not (cache / "Tiny-Served.pt").exists()
