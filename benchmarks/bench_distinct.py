"""Cost of refusing data that cannot be told apart, beside the cost of listing the data it checks.

    python benchmarks/bench_distinct.py [--classes 1000] [--per-class 100] [--out FILE]

An ImageNet-like tree of empty files (`<wnid>/<n>.JPEG`, 1,000 classes by default) is listed as
the ImageNet reader lists it (`read_class_folders`, one Datum per file). Then, on those items, the
class check every reader runs (`require_distinct_classes`: one name per label, none that CLIP's
tokenizer reads like another's; its first call builds the tokenizer) and the image check a split
file gets (`require_distinct_images` on the items as a split file's records). The JSON line gives the seconds of
each and their ratio to the listing; both checks are linear in the items, so the ratios hold at
ImageNet's 1.28M training images.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from operator import attrgetter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mopd.data.distinct import require_distinct_classes, require_distinct_images  # noqa: E402
from mopd.data.layout import read_class_folders  # noqa: E402
from mopd.data.splits import to_records  # noqa: E402


def _tree(root: str, classes: int, per_class: int) -> list[str]:
    """Write `classes` folders of `per_class` empty files under `root`; the sorted folder names."""
    folders = [f"n{index:08d}" for index in range(classes)]
    for folder in folders:
        os.makedirs(os.path.join(root, folder))
        for index in range(per_class):
            open(os.path.join(root, folder, f"{folder}_{index}.JPEG"), "wb").close()
    return folders


def _seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    """Time the listing and both checks once, in one run, and print (and append to --out) one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--out", default=os.path.join("output", "benchmarks", "bench_distinct.jsonl"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_distinct-") as root:
        folders = _tree(root, args.classes, args.per_class)
        names = [f"class {index} of the benchmark" for index in range(args.classes)]
        items: list = []
        listing = _seconds(lambda: items.extend(read_class_folders(root, folders, names)))
        classes = _seconds(lambda: require_distinct_classes(
            map(attrgetter("label", "classname"), items), where="the benchmark"
        ))
        records = {"train": to_records(items, root)}  # as a split file holds them
        images = _seconds(lambda: require_distinct_images(records, source="the benchmark", fix="-"))
    line = {
        "items": len(items), "classes": args.classes, "listing_s": round(listing, 3),
        "class_check_s": round(classes, 3), "image_check_s": round(images, 3),
        "class_check_vs_listing": round(classes / listing, 4), "image_check_vs_listing": round(images / listing, 4),
    }
    print(json.dumps(line))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
