"""The feature cache's image check on a split of 50,000 JPEG files: what each way of keying the images costs.

    python benchmarks/bench_cache_key.py                                # 50,000 files of ~110 KB (5.5 GB), ~5 min
    python benchmarks/bench_cache_key.py --files 200 --kb 20 --repeats 1 # smoke (tests run it)

Every way is measured in one run on the same files (generated in a temporary folder: 1,000 folders
of 50 JPEGs of 500 x 375 px, ImageNet val's mean file size by default, each file's bytes unique).
Times are the best of --repeats (of twice as many, taken in turns, for the three stat-only ways); "cold" runs first drop the files from the page cache
(posix_fadvise DONTNEED; a virtual machine's host may still cache them), "warm" ones read them cached.

- mtime key: stat, sha256 over (path, size, mtime): the key before this change (it misses a
  same-size replacement whose times were set back);
- ctime key: the stat signature (path, size, inode, mtime, ctime), as `image_digest.stat_digest` computes it;
- recorded hit: `ImageDigests.digest` with the split's digest recorded: a hit's whole image check;
- sha256 / blake2b / xxh3 of the bytes (8 threads, as `content_digest`), and reading them only: the
  floor of any digest;
- decode: open, decode and test-transform (224 px) a sample of the images on one thread, the least
  an encoding pass costs per image on any device;
- encode: CLIP ViT-B/16 per image, from bench_eval_cache.py's CPU result (not measured here) and,
  on a CUDA machine, measured here on the GPU (fp16, random weights, batches of 250);
- entry read: a 50,000 x 512 fp16 feature file with its 50,000 image paths, as a hit reads it.
One JSON line (also appended to --out).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from mopd.config.defaults import get_cfg  # noqa: E402
from mopd.engine.transforms import build_transform  # noqa: E402
from mopd.feature_cache import image_digest  # noqa: E402
from mopd.feature_cache.file_format import read_feature_file, write_feature_file  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREADS = 8  # as image_digest's stat and read pools
PER_FOLDER = 50  # ImageNet val: 50 images per class folder
# benchmarks/README.md, bench_eval_cache.py cpu preset (2026-11-30): CoOp's first test() of 2,000 images,
# ViT-B/16 fp32 on 1 CPU thread (decode, transform and encode), 1562.154 s.
CPU_ENCODE_PER_IMAGE_S = 1562.154 / 2000


def _template(kb: int) -> bytes:
    """A 500 x 375 JPEG of smooth gradients and noise, about `kb` kB (noise level found by bisection)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:375, 0:500]
    smooth = np.stack([x / 2, y / 1.5, (x + y) / 3.5], axis=-1)
    noise = rng.normal(0, 1, smooth.shape)
    low, high = 0.0, 120.0
    for _ in range(20):
        level = (low + high) / 2
        pixels = np.clip(smooth + level * noise, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        low, high = (level, high) if buffer.tell() < kb * 1000 else (low, level)
    return buffer.getvalue()


def _write_files(root: str, count: int, template: bytes) -> list[str]:
    """`count` JPEGs: the template with a comment segment naming the file (unique bytes)."""
    paths = []
    for index in range(count):
        folder = os.path.join(root, f"n{index // PER_FOLDER:08d}")
        if index % PER_FOLDER == 0:
            os.makedirs(folder)
        path = os.path.join(folder, f"ILSVRC2012_val_{index:08d}.JPEG")
        comment = f"file {index}".encode()
        with open(path, "wb") as handle:  # SOI, a COM segment, then the rest of the template
            handle.write(template[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + template[2:])
        paths.append(path)
    return paths


def _evict(paths: list[str]) -> None:
    """Drop the files' pages from the page cache (written pages are flushed first)."""
    os.sync()
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _best_interleaved(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best time of each function, run in turns (a busy machine's slow spells then fall on all of them)."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def _best(function: Callable[[], object], repeats: int, before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def _mtime_key(paths: list[str]) -> str:
    """The key before this change: sha256 over (path, size, mtime) from THREADS stat threads."""
    digest = hashlib.sha256()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for path, info in zip(paths, pool.map(os.stat, paths, chunksize=256)):
            digest.update(f"{path}\t{info.st_size}\t{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _ctime_key(paths: list[str]) -> str:
    return image_digest.stat_digest(paths, image_digest.stat_images(paths))


def _pool_digest(paths: list[str], file_digest: Callable[[str], object]) -> None:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(file_digest, paths, chunksize=64))


def _hash_file(make: Callable[[], object]) -> Callable[[str], object]:
    def digest(path: str) -> object:
        hasher = make()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                hasher.update(chunk)
        return hasher.digest()
    return digest


def _read_file(path: str) -> int:
    with open(path, "rb") as handle:
        return len(handle.read())


def _digests() -> dict[str, Callable[[str], object]]:
    found = {"sha256": _hash_file(hashlib.sha256), "blake2b": _hash_file(hashlib.blake2b), "read_only": _read_file}
    try:
        import xxhash
    except ImportError:
        return found
    return {**found, "xxh3_64": _hash_file(xxhash.xxh3_64)}


def _decode_per_image(paths: list[str], sample: int) -> float:
    """Seconds per image to open, decode and test-transform (CoOp's ViT-B/16 input) on one thread."""
    cfg = get_cfg()
    cfg.merge_from_file(os.path.join(REPO, "configs", "trainers", "CoOp", "vit_b16.yaml"))
    transform = build_transform(cfg, is_train=False)
    chosen = paths[:: max(1, len(paths) // sample)][:sample]
    start = time.perf_counter()
    for path in chosen:
        with Image.open(path) as picture:
            transform(picture.convert("RGB"))
    return (time.perf_counter() - start) / len(chosen)


def _gpu_encode_per_image() -> float | None:
    """Seconds per image of ViT-B/16's image encoder on CUDA, fp16, batches of 250 (None without CUDA)."""
    if not torch.cuda.is_available():
        return None
    from mopd.clip.loading import load_clip

    visual = load_clip("ViT-B/16", random_init=True).visual.half().cuda().eval()
    images = torch.randn(250, 3, 224, 224, device="cuda", dtype=torch.float16)
    with torch.no_grad():
        for _ in range(3):
            visual(images)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(20):
            visual(images)
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / (20 * 250)


def _entry_read_s(folder: str, paths: list[str], repeats: int) -> float:
    """A hit's read of the split's feature file: (N, 512) fp16 features and the N paths in its header."""
    path = os.path.join(folder, "entry.feat")
    write_feature_file(path, {"k": "v"}, torch.zeros(len(paths), 512, dtype=torch.float16), paths)
    return _best(lambda: read_feature_file(path), repeats)


def measure(work: str, files: int, kb: int, repeats: int, decode_sample: int) -> dict:
    """Generate the files under `work` and time every way of keying them; the JSON line."""
    template = _template(kb)
    start = time.perf_counter()
    paths = _write_files(os.path.join(work, "val"), files, template)
    generate_s = time.perf_counter() - start
    total_bytes = sum(os.path.getsize(path) for path in paths)
    evict = lambda: _evict(paths)  # noqa: E731
    digests = image_digest.ImageDigests(os.path.join(work, "records"))
    digests.record(replace(digests.digest(paths, "content"), recordable=True))
    seconds = _best_interleaved({  # stat only: cheap, so twice the repeats
        "mtime_key": lambda: _mtime_key(paths),
        "ctime_key": lambda: _ctime_key(paths),
        "recorded_hit": lambda: digests.digest(paths, "stat"),
    }, 2 * repeats)
    seconds["sha256_cold"] = _best(lambda: image_digest.content_digest(paths), repeats, before=evict)
    seconds["read_only_cold"] = _best(lambda: _pool_digest(paths, _read_file), repeats, before=evict)
    for name, file_digest in _digests().items():
        _pool_digest(paths, file_digest)  # warm the page cache
        seconds[f"{name}_warm"] = _best(lambda: _pool_digest(paths, file_digest), repeats)
    seconds["entry_read"] = _entry_read_s(work, paths, repeats)
    base = seconds["mtime_key"]
    decode = _decode_per_image(paths, decode_sample)
    gpu = _gpu_encode_per_image()
    per_50k = 50_000 / files
    split_50k = {"decode_transform_1_thread_s": round(decode * 50_000, 1),
                 "cpu_encode_vit_b16_s (from bench_eval_cache, extrapolated)": round(CPU_ENCODE_PER_IMAGE_S * 50_000)}
    if gpu is not None:
        split_50k["gpu_encode_vit_b16_fp16_s (model only)"] = round(gpu * 50_000, 2)
    return {
        "files": files, "mean_kb": round(total_bytes / files / 1000, 1), "total_gb": round(total_bytes / 1e9, 2),
        "threads": THREADS, "repeats": repeats, "cpu_cores": os.cpu_count(), "cuda": torch.cuda.get_device_name() if gpu
        else "", "generate_s": round(generate_s, 1),
        "seconds": {name: round(value, 3) for name, value in seconds.items()},
        "over_mtime_key": {name: round(value / base, 2) for name, value in seconds.items()},
        "per_50k_files_s": {name: round(value * per_50k, 2) for name, value in seconds.items()},
        "per_image_s": {"decode_transform": round(decode, 5), "cpu_encode (bench_eval_cache)": round(CPU_ENCODE_PER_IMAGE_S, 4),
                        **({"gpu_encode_fp16": round(gpu, 6)} if gpu is not None else {})},
        "split_of_50k_s": split_50k,
        "share_of_decode_pass": {name: round(value * per_50k / (decode * 50_000), 4) for name, value in seconds.items()},
        "share_of_cpu_encode_pass": {name: round(value * per_50k / (CPU_ENCODE_PER_IMAGE_S * 50_000), 6)
                                     for name, value in seconds.items()},
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--kb", type=int, default=110, help="mean JPEG size in kB (ImageNet val: ~110)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--decode-sample", type=int, default=300, help="images decoded to time the decode")
    parser.add_argument("--dir", default="", help="where to generate the files (default: a temporary folder)")
    parser.add_argument("--out", default="", help="append the JSON line here (default output/benchmarks/bench_cache_key.jsonl)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="bench_cache_key-", dir=args.dir or None) as work:
        line = measure(work, args.files, args.kb, args.repeats, args.decode_sample)
    line = {**line, "date": time.strftime("%Y-%m-%d %H:%M"), "torch": torch.__version__}
    text = json.dumps(line)
    print(text)
    out = args.out or os.path.join(REPO, "output", "benchmarks", "bench_cache_key.jsonl")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "a") as handle:
        handle.write(text + "\n")
    return line


if __name__ == "__main__":
    main()
