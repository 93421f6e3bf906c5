"""Generate the synthetic dataset: coloured shapes on noisy backgrounds, one colour and shape per class.

Run `python -m mopd.data.synthetic --root DIR` to write DIR/synthetic/images/<class>/*.png and
DIR/synthetic/split_synthetic.json (CoOp's split format). Every image depends only on
(seed, class, index), so a run is byte-for-byte reproducible, and files whose bytes are already
right are left untouched.
"""
from __future__ import annotations

import argparse
import glob
import io
import logging
import os
from typing import NamedTuple, Sequence

import numpy as np
from PIL import Image, ImageDraw

from mopd.files.atomic import NOT_WRITABLE_ERRNOS
from mopd.files.io import dump_json, write_bytes_atomic

logger = logging.getLogger(__name__)

DATASET_FOLDER = "synthetic"
IMAGE_FOLDER = "images"
SPLIT_FILE = "split_synthetic.json"
FEWSHOT_FOLDER = "split_fewshot"


class SyntheticClass(NamedTuple):
    """A class of the synthetic dataset: its name, object colour (RGB) and shape."""

    name: str
    colour: tuple[int, int, int]
    shape: str


# The first ten classes have pairwise different shapes and well-separated colours.
CLASSES: tuple[SyntheticClass, ...] = (
    SyntheticClass("golden retriever", (230, 170, 40), "disc"),
    SyntheticClass("tabby cat", (150, 95, 50), "hstripes"),
    SyntheticClass("sunflower", (250, 230, 30), "ring"),
    SyntheticClass("fire truck", (210, 20, 30), "square"),
    SyntheticClass("pizza", (255, 120, 0), "triangle"),
    SyntheticClass("lighthouse", (240, 240, 240), "vstripes"),
    SyntheticClass("strawberry", (190, 0, 90), "diamond"),
    SyntheticClass("teapot", (20, 90, 170), "wedge"),
    SyntheticClass("airliner", (160, 200, 235), "cross"),
    SyntheticClass("red fox", (200, 80, 20), "frame"),
    SyntheticClass("pine tree", (0, 110, 50), "triangle"),
    SyntheticClass("lavender", (150, 110, 200), "disc"),
    SyntheticClass("lemon", (250, 245, 130), "diamond"),
    SyntheticClass("flamingo", (245, 130, 160), "vstripes"),
    SyntheticClass("zebra", (25, 25, 25), "hstripes"),
    SyntheticClass("broccoli", (100, 160, 40), "ring"),
    SyntheticClass("chocolate cake", (90, 50, 20), "square"),
    SyntheticClass("tennis ball", (170, 220, 60), "wedge"),
    SyntheticClass("jellyfish", (130, 60, 130), "cross"),
    SyntheticClass("police car", (30, 40, 110), "frame"),
)

BACKGROUND_GREY = (90, 160)  # range of the per-image background grey level
COLOUR_JITTER = 15  # max per-channel shift of the object colour
PIXEL_NOISE_STD = 8.0  # std of the Gaussian noise added to every pixel


def class_folder(name: str) -> str:
    """Folder name of a class: its name with spaces replaced by underscores."""
    return name.replace(" ", "_")


def _draw_shape(
    draw: ImageDraw.ImageDraw, shape: str, box: tuple[float, float, float, float], fill: tuple[int, ...]
) -> None:
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = x1 - x0, y1 - y0
    if shape == "disc":
        draw.ellipse(box, fill=fill)
    elif shape == "ring":
        draw.ellipse(box, outline=fill, width=max(2, round(w / 5)))
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    elif shape == "frame":
        draw.rectangle(box, outline=fill, width=max(2, round(w / 6)))
    elif shape == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=fill)
    elif shape == "diamond":
        draw.polygon([(cx, y0), (x1, cy), (cx, y1), (x0, cy)], fill=fill)
    elif shape == "wedge":
        draw.pieslice(box, start=30, end=330, fill=fill)
    elif shape == "cross":
        draw.rectangle((x0, cy - h / 6, x1, cy + h / 6), fill=fill)
        draw.rectangle((cx - w / 6, y0, cx + w / 6, y1), fill=fill)
    elif shape == "hstripes":
        for k in range(0, 5, 2):
            draw.rectangle((x0, y0 + k * h / 5, x1, y0 + (k + 1) * h / 5), fill=fill)
    elif shape == "vstripes":
        for k in range(0, 5, 2):
            draw.rectangle((x0 + k * w / 5, y0, x0 + (k + 1) * w / 5, y1), fill=fill)
    else:
        raise AssertionError(f"unknown shape {shape!r}")


def render_image(cls: SyntheticClass, class_index: int, image_index: int, seed: int, size: int) -> bytes:
    """PNG bytes of image `image_index` of a class; a pure function of its arguments."""
    rng = np.random.default_rng([seed, class_index, image_index])
    grey = int(rng.integers(*BACKGROUND_GREY))
    image = Image.new("RGB", (size, size), (grey, grey, grey))
    half = size * rng.uniform(0.22, 0.34)
    cx, cy = size / 2 + rng.uniform(-0.12, 0.12, size=2) * size
    colour = np.clip(np.array(cls.colour) + rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, size=3), 0, 255)
    box = (cx - half, cy - half, cx + half, cy + half)
    _draw_shape(ImageDraw.Draw(image), cls.shape, box, tuple(colour.tolist()))
    pixels = np.asarray(image, dtype=np.float64) + rng.normal(0.0, PIXEL_NOISE_STD, size=(size, size, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_if_changed(path: str, data: bytes) -> bool:
    """Atomically write `data` unless `path` already holds exactly these bytes; True if written."""
    if os.path.isfile(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    write_bytes_atomic(path, data)
    return True


def _check_arguments(num_classes: int, counts: Sequence[int], image_size: int, seed: int) -> None:
    if not 2 <= num_classes <= len(CLASSES):
        raise ValueError(f"classes={num_classes} must be between 2 and {len(CLASSES)}")
    if min(counts) < 1:
        raise ValueError(f"images per class (train, val, test)={tuple(counts)} must all be at least 1")
    if image_size < 16:
        raise ValueError(f"image_size={image_size} must be at least 16 pixels")
    if seed < 0:
        raise ValueError(f"seed={seed} must be a non-negative integer")


def generate_synthetic_dataset(
    root: str,
    *,
    num_classes: int = 10,
    train_per_class: int = 16,
    val_per_class: int = 4,
    test_per_class: int = 10,
    image_size: int = 64,
    seed: int = 0,
) -> str:
    """Write the synthetic dataset under `root/synthetic` and return that folder.

    Images `0 .. train_per_class-1` of each class are train, the next `val_per_class` val and
    the next `test_per_class` test. When the split file changes, stale few-shot caches of the
    dataset are removed, since they were sampled from the old split.
    """
    counts = (train_per_class, val_per_class, test_per_class)
    _check_arguments(num_classes, counts, image_size, seed)
    root = os.path.abspath(os.path.expanduser(root))
    if os.path.exists(root) and not os.path.isdir(root):
        raise NotADirectoryError(f"root {root} is a file; give a folder (it is created if missing)")
    dataset_dir = os.path.join(root, DATASET_FOLDER)
    try:
        _write_dataset(dataset_dir, num_classes, counts, image_size, seed)
    except OSError as err:
        if err.errno not in NOT_WRITABLE_ERRNOS:
            raise
        raise PermissionError(
            f"cannot write the synthetic dataset to {dataset_dir} ({err.strerror}: {err.filename}); "
            "choose a root folder you can write to"
        ) from err
    return dataset_dir


def _write_dataset(
    dataset_dir: str, num_classes: int, counts: tuple[int, int, int], image_size: int, seed: int
) -> None:
    """Write (or leave as they are) the images and the split file of `generate_synthetic_dataset`."""
    image_dir = os.path.join(dataset_dir, IMAGE_FOLDER)

    split: dict[str, list[list]] = {"train": [], "val": [], "test": []}
    written = 0
    for label, cls in enumerate(CLASSES[:num_classes]):
        folder = class_folder(cls.name)
        index = 0
        for split_name, count in zip(split, counts):
            for _ in range(count):
                rel_path = f"{folder}/{folder}_{index:04d}.png"
                data = render_image(cls, label, index, seed, image_size)
                written += _write_if_changed(os.path.join(image_dir, rel_path), data)
                split[split_name].append([rel_path, label, cls.name])
                index += 1

    split_path = os.path.join(dataset_dir, SPLIT_FILE)
    split_existed = os.path.isfile(split_path)
    if _write_if_changed(split_path, dump_json(split)) and split_existed:
        for cache in glob.glob(os.path.join(dataset_dir, FEWSHOT_FOLDER, "shot_*-seed_*.json")):
            os.remove(cache)
            logger.info("Removed stale few-shot cache %s", cache)
    total = num_classes * sum(counts)
    logger.info(
        "Synthetic dataset (%d classes, %d images, %d written) in %s, split %s",
        num_classes, total, written, dataset_dir, split_path,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point: parse arguments and generate the dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="data root; the dataset goes to ROOT/synthetic")
    parser.add_argument("--classes", type=int, default=10, help=f"number of classes (2..{len(CLASSES)})")
    parser.add_argument("--train-per-class", type=int, default=16)
    parser.add_argument("--val-per-class", type=int, default=4)
    parser.add_argument("--test-per-class", type=int, default=10)
    parser.add_argument("--image-size", type=int, default=64, help="side of the square images in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        generate_synthetic_dataset(
            args.root,
            num_classes=args.classes,
            train_per_class=args.train_per_class,
            val_per_class=args.val_per_class,
            test_per_class=args.test_per_class,
            image_size=args.image_size,
            seed=args.seed,
        )
    except ValueError as err:
        parser.error(str(err))
    except OSError as err:
        parser.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    main()
