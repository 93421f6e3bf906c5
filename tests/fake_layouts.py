"""Fake copies of the 15 benchmark datasets' real on-disk layouts, small enough for tests.

`build_fake_dataset(config, root)` writes, under the data root `root`, the folders, annotation
files and split file that the real dataset has (same names and formats as CoOp's DATASETS.md
describes, 8x8 JPEGs as images) and returns a `FakeDataset` saying what a correct reader returns.
Datasets get five classes, except ImageNet-A/-R, which get their real 200 class folders. Split
files cut each class into 6 train, 3 val and 3 test images; FGVCAircraft's own lists do the same.
`with_split=False` leaves CoOp's split file out (the reader then creates one); datasets that have
no split file (FGVCAircraft, the ImageNet family) ignore it.
`dataset_cfg`, `build_reader` and `relative_records` read a fake copy back through its reader;
`rename_class` renames a class where the copy names its classes.
`fake_items` makes empty image files and their Datum items for tests of the split helpers.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

import datasets  # noqa: F401  (registers the readers)
from mopd.backend import DATASET_REGISTRY, Datum
from mopd.config.defaults import get_cfg
from mopd.data.imagenet_classes import IMAGENET_A_WNIDS, IMAGENET_R_WNIDS

REPO = Path(__file__).resolve().parents[1]

PER_CLASS = (6, 3, 3)  # train, val, test images per class in the split files we write
IMAGES_PER_CLASS = sum(PER_CLASS)

FAKE_MAT = b"MATLAB 5.0 MAT-file (fake: tests serve its contents through a fake scipy.io.loadmat)"
Record = tuple[str, int, str]  # (image path relative to the image folder, label, class name)

# The first ImageNet classes with CLIP's names, as in classnames.txt.
IMAGENET_CLASSES = (
    ("n01440764", "tench"),
    ("n01443537", "goldfish"),
    ("n01484850", "great white shark"),
    ("n01491361", "tiger shark"),
    ("n01494475", "hammerhead shark"),
)


@dataclass
class FakeDataset:
    """What was written for one dataset, and what its reader must return."""

    name: str  # DATASET.NAME
    config: str  # configs/datasets/<config>.yaml
    folder: Path  # the dataset's folder under the data root
    image_dir: Path  # the folder that split records (and few-shot caches) are relative to
    classnames: list[str]  # class names in label order
    # Expected records per split ("train", "val", "test"); None when a split file was left out and
    # the reader creates a random one. ImageNet has no "val" (val is test); test-only datasets
    # have only "test" (train is test).
    records: dict[str, list[Record]] | None
    split_file: str | None = None  # CoOp's split file, None where the dataset has none
    mat_contents: dict[str, dict] = field(default_factory=dict)  # .mat path -> what scipy's loadmat returns


@lru_cache(maxsize=1)
def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 60, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _write_images(image_dir: Path, rel_paths) -> None:
    for rel_path in rel_paths:
        path = image_dir / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_jpeg_bytes())


def _write_text(path: Path, lines, newline: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + newline for line in lines), encoding="utf-8")


def _cut(per_class: list[list[Record]]) -> dict[str, list[Record]]:
    """Split each class's records into PER_CLASS train / val / test, in order."""
    n_train, n_val, _ = PER_CLASS
    cut = {"train": [], "val": [], "test": []}
    for records in per_class:
        cut["train"] += records[:n_train]
        cut["val"] += records[n_train:n_train + n_val]
        cut["test"] += records[n_train + n_val:]
    return cut


def _write_split(folder: Path, split_file: str, records: dict[str, list[Record]]) -> None:
    split = {name: [list(record) for record in records[name]] for name in ("train", "val", "test")}
    (folder / split_file).write_text(json.dumps(split, indent=4), encoding="utf-8")


def _split_file_dataset(
    per_class: list[list[Record]], *, name: str, config: str, dataset_dir: Path, image_dir: Path,
    classnames: list[str], split_file: str, with_split: bool, mat_contents: dict[str, dict] | None = None,
) -> FakeDataset:
    """Write the images of `per_class` (each class's records) and, `with_split`, CoOp's split file of them."""
    _write_images(image_dir, [r[0] for records in per_class for r in records])
    records = _cut(per_class)
    if with_split:
        _write_split(dataset_dir, split_file, records)
    return FakeDataset(
        name=name, config=config, folder=dataset_dir, image_dir=image_dir, classnames=classnames,
        records=records if with_split else None, split_file=split_file, mat_contents=mat_contents or {},
    )


def _class_folder_dataset(
    root: Path, *, name: str, config: str, folder: str, image_folder: str, split_file: str,
    classes: list[tuple[str, str]], image_name: Callable[[str, int], str], with_split: bool,
    extra_folders: tuple[str, ...] = (),
) -> FakeDataset:
    """A dataset of `image_folder/<class folder>/<image>` trees; `classes` = (folder, class name) by label."""
    dataset_dir = root / folder
    image_dir = dataset_dir / image_folder
    per_class = [
        [
            (f"{class_folder}/{image_name(class_folder, i)}", label, classname)
            for i in range(1, IMAGES_PER_CLASS + 1)
        ]
        for label, (class_folder, classname) in enumerate(classes)
    ]
    _write_images(image_dir, [f"{x}/{image_name(x, i)}" for x in extra_folders for i in (1, 2, 3)])
    return _split_file_dataset(
        per_class, name=name, config=config, dataset_dir=dataset_dir, image_dir=image_dir,
        classnames=[classname for _, classname in classes], split_file=split_file, with_split=with_split,
    )


def build_caltech101(root: Path, with_split: bool = True) -> FakeDataset:
    """caltech-101/101_ObjectCategories/<class>/image_NNNN.jpg, with the two ignored folders."""
    classes = [("Faces", "face"), ("Leopards", "leopard"), ("Motorbikes", "motorbike"),
               ("accordion", "accordion"), ("airplanes", "airplane")]
    return _class_folder_dataset(
        root, name="Caltech101", config="caltech101", folder="caltech-101",
        image_folder="101_ObjectCategories", split_file="split_zhou_Caltech101.json", classes=classes,
        image_name=lambda _, i: f"image_{i:04d}.jpg",
        with_split=with_split, extra_folders=("BACKGROUND_Google", "Faces_easy"),
    )


def build_dtd(root: Path, with_split: bool = True) -> FakeDataset:
    """dtd/images/<texture>/<texture>_NNNN.jpg, plus labels/ and imdb/."""
    textures = ["banded", "blotchy", "braided", "bubbly", "bumpy"]
    fake = _class_folder_dataset(
        root, name="DescribableTextures", config="dtd", folder="dtd", image_folder="images",
        split_file="split_zhou_DescribableTextures.json", classes=[(t, t) for t in textures],
        image_name=lambda texture, i: f"{texture}_{i:04d}.jpg", with_split=with_split,
    )
    _write_text(fake.folder / "labels" / "train1.txt", [f"{t}/{t}_0001.jpg" for t in textures])
    (fake.folder / "imdb").mkdir()
    (fake.folder / "imdb" / "imdb.mat").write_bytes(b"not read")
    return fake


def build_eurosat(root: Path, with_split: bool = True) -> FakeDataset:
    """eurosat/2750/<Class>/<Class>_N.jpg; the split file holds CoOp's readable class names."""
    classes = [("AnnualCrop", "Annual Crop Land"), ("Forest", "Forest"),
               ("HerbaceousVegetation", "Herbaceous Vegetation Land"), ("Highway", "Highway or Road"),
               ("Industrial", "Industrial Buildings")]
    return _class_folder_dataset(
        root, name="EuroSAT", config="eurosat", folder="eurosat", image_folder="2750",
        split_file="split_zhou_EuroSAT.json", classes=classes, image_name=lambda c, i: f"{c}_{i}.jpg",
        with_split=with_split,
    )


def build_food101(root: Path, with_split: bool = True) -> FakeDataset:
    """food-101/images/<dish>/<id>.jpg, plus meta/."""
    dishes = ["apple_pie", "baby_back_ribs", "baklava", "beef_carpaccio", "beef_tartare"]
    fake = _class_folder_dataset(
        root, name="Food101", config="food101", folder="food-101", image_folder="images",
        split_file="split_zhou_Food101.json", classes=[(d, d) for d in dishes],
        image_name=lambda _, i: f"{1005600 + i}.jpg", with_split=with_split,
    )
    _write_text(fake.folder / "meta" / "classes.txt", dishes)
    _write_text(fake.folder / "meta" / "labels.txt", [d.replace("_", " ").capitalize() for d in dishes])
    return fake


def build_oxford_pets(root: Path, with_split: bool = True) -> FakeDataset:
    """oxford_pets/images/<Breed>_N.jpg and annotations/{list,trainval,test}.txt."""
    breeds = [("Abyssinian", 1, 1), ("american_bulldog", 2, 1), ("american_pit_bull_terrier", 2, 2),
              ("basset_hound", 2, 3), ("beagle", 2, 4)]  # (image prefix, species, breed id)
    dataset_dir = root / "oxford_pets"
    image_dir = dataset_dir / "images"
    per_class, trainval, test = [], [], []
    n_trainval = PER_CLASS[0] + PER_CLASS[1]
    for label, (prefix, species, breed_id) in enumerate(breeds):
        names = [f"{prefix}_{i}" for i in range(1, IMAGES_PER_CLASS + 1)]
        lines = [f"{n} {label + 1} {species} {breed_id}" for n in names]
        trainval += lines[:n_trainval]
        test += lines[n_trainval:]
        per_class.append([(f"{n}.jpg", label, prefix.lower()) for n in names])
    annotations = dataset_dir / "annotations"
    header = ["#Image CLASS-ID SPECIES BREED ID", "#ID: 1:37 Class ids"]
    _write_text(annotations / "list.txt", header + trainval + test)
    _write_text(annotations / "trainval.txt", trainval)
    _write_text(annotations / "test.txt", test)
    (annotations / "trimaps").mkdir()
    return _split_file_dataset(
        per_class, name="OxfordPets", config="oxford_pets", dataset_dir=dataset_dir, image_dir=image_dir,
        classnames=[prefix.lower() for prefix, _, _ in breeds], split_file="split_zhou_OxfordPets.json",
        with_split=with_split,
    )


def _cars_class_names(names: list[str]) -> np.ndarray:
    array = np.empty((1, len(names)), dtype=object)
    for index, name in enumerate(names):
        array[0, index] = np.array([name])
    return array


def _cars_annotations(entries: list[tuple[str, int]]) -> np.ndarray:
    """loadmat's layout of the devkit annotations: a (1, N) struct array with `class` and `fname`."""
    array = np.empty((1, len(entries)), dtype=[("class", object), ("fname", object)])
    for index, (fname, class_id) in enumerate(entries):
        array[0, index] = (np.array([[class_id]], dtype=np.uint8), np.array([fname]))
    return array


def build_stanford_cars(root: Path, with_split: bool = True) -> FakeDataset:
    """stanford_cars/cars_{train,test}/NNNNN.jpg, devkit .mat files; split paths relative to the folder."""
    devkit_names = ["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Acura TL Sedan 2012",
                    "Acura TL Type-S 2008", "Acura TSX Sedan 2012"]
    classnames = ["2000 AM General Hummer SUV", "2012 Acura RL Sedan", "2012 Acura TL Sedan",
                  "2008 Acura TL Type-S", "2012 Acura TSX Sedan"]
    dataset_dir = root / "stanford_cars"
    n_trainval = PER_CLASS[0] + PER_CLASS[1]
    per_class, train_annos, test_annos = [], [], []
    for label, classname in enumerate(classnames):
        records = []
        for i in range(IMAGES_PER_CLASS):
            annos, folder = (train_annos, "cars_train") if i < n_trainval else (test_annos, "cars_test")
            fname = f"{len(annos) + 1:05d}.jpg"
            annos.append((fname, label + 1))
            records.append((f"{folder}/{fname}", label, classname))
        per_class.append(records)
    mat_contents = {
        "devkit/cars_meta.mat": {"class_names": _cars_class_names(devkit_names)},
        "devkit/cars_train_annos.mat": {"annotations": _cars_annotations(train_annos)},
        "cars_test_annos_withlabels.mat": {"annotations": _cars_annotations(test_annos)},
    }
    for rel_path in mat_contents:
        (dataset_dir / rel_path).parent.mkdir(parents=True, exist_ok=True)
        (dataset_dir / rel_path).write_bytes(FAKE_MAT)
    return _split_file_dataset(
        per_class, name="StanfordCars", config="stanford_cars", dataset_dir=dataset_dir, image_dir=dataset_dir,
        classnames=classnames, split_file="split_zhou_StanfordCars.json", with_split=with_split,
        mat_contents=mat_contents,
    )


def build_oxford_flowers(root: Path, with_split: bool = True) -> FakeDataset:
    """oxford_flowers/jpg/image_NNNNN.jpg, imagelabels.mat, cat_to_name.json; classes interleaved."""
    names = {"1": "pink primrose", "2": "hard-leaved pocket orchid", "3": "canterbury bells",
             "4": "sweet pea", "5": "english marigold"}
    dataset_dir = root / "oxford_flowers"
    image_dir = dataset_dir / "jpg"
    n_classes = len(names)
    labels = [index % n_classes + 1 for index in range(n_classes * IMAGES_PER_CLASS)]
    per_class = [[] for _ in range(n_classes)]
    for index, label in enumerate(labels, start=1):
        per_class[label - 1].append((f"image_{index:05d}.jpg", label - 1, names[str(label)]))
    dataset_dir.mkdir(parents=True)
    (dataset_dir / "cat_to_name.json").write_text(json.dumps(names), encoding="utf-8")
    mat_contents = {"imagelabels.mat": {"labels": np.array([labels], dtype=np.uint8)}}
    (dataset_dir / "imagelabels.mat").write_bytes(FAKE_MAT)
    return _split_file_dataset(
        per_class, name="OxfordFlowers", config="oxford_flowers", dataset_dir=dataset_dir, image_dir=image_dir,
        classnames=list(names.values()), split_file="split_zhou_OxfordFlowers.json", with_split=with_split,
        mat_contents=mat_contents,
    )


def build_fgvc_aircraft(root: Path, with_split: bool = True) -> FakeDataset:
    """fgvc_aircraft/images/NNNNNNN.jpg, variants.txt and images_variant_{train,val,trainval,test}.txt.

    variants.txt is deliberately not in sorted order: labels must follow the file. `with_split`
    is ignored (the dataset's own lists are the split).
    """
    variants = ["Cessna 172", "707-320", "Falcon 2000", "A300B4", "DHC-8-100"]
    dataset_dir = root / "fgvc_aircraft"
    image_dir = dataset_dir / "images"
    per_class, lines = [], []
    for label, variant in enumerate(variants):
        ids = [f"{1000000 + label * 100 + i:07d}" for i in range(IMAGES_PER_CLASS)]
        per_class.append([(f"{image_id}.jpg", label, variant) for image_id in ids])
        lines.append([f"{image_id} {variant}" for image_id in ids])
    _write_images(image_dir, [r[0] for records in per_class for r in records])
    _write_text(dataset_dir / "variants.txt", variants)
    _write_text(dataset_dir / "families.txt", ["Cessna 172", "Boeing 707", "Falcon 2000", "A300", "DHC-8"])
    n_train, n_val, _ = PER_CLASS
    for split, start, stop in (("train", 0, n_train), ("val", n_train, n_train + n_val),
                               ("trainval", 0, n_train + n_val), ("test", n_train + n_val, IMAGES_PER_CLASS)):
        selected = [line for per_variant in lines for line in per_variant[start:stop]]
        _write_text(dataset_dir / f"images_variant_{split}.txt", selected)
    return FakeDataset(
        name="FGVCAircraft", config="fgvc_aircraft", folder=dataset_dir, image_dir=image_dir,
        classnames=variants, records=_cut(per_class),
    )


def build_sun397(root: Path, with_split: bool = True) -> FakeDataset:
    """sun397/SUN397/<letter>/<class>[/<place>]/sun_*.jpg, ClassName.txt and partition 01."""
    categories = [
        "a/abbey", "a/airplane_cabin", "a/apartment_building/outdoor", "b/badlands", "b/bakery/shop"
    ]
    classnames = ["abbey", "airplane_cabin", "outdoor apartment_building", "badlands", "shop bakery"]
    dataset_dir = root / "sun397"
    image_dir = dataset_dir / "SUN397"
    n_trainval = PER_CLASS[0] + PER_CLASS[1]
    per_class, training, testing = [], [], []
    for label, (category, classname) in enumerate(zip(categories, classnames)):
        paths = [f"{category}/sun_{'abcde'[label]}{i:02d}xyzqrimafwbiv.jpg" for i in range(IMAGES_PER_CLASS)]
        training += ["/" + p for p in paths[:n_trainval]]
        testing += ["/" + p for p in paths[n_trainval:]]
        per_class.append([(p, label, classname) for p in paths])
    _write_text(dataset_dir / "ClassName.txt", ["/" + c for c in categories])
    _write_text(dataset_dir / "Training_01.txt", training)
    _write_text(dataset_dir / "Testing_01.txt", testing)
    return _split_file_dataset(
        per_class, name="SUN397", config="sun397", dataset_dir=dataset_dir, image_dir=image_dir,
        classnames=classnames, split_file="split_zhou_SUN397.json", with_split=with_split,
    )


def build_ucf101(root: Path, with_split: bool = True) -> FakeDataset:
    """ucf101/UCF-101-midframes/<Action_Name>/v_*.jpg and ucfTrainTestlist/ (CRLF lines, as the real ones)."""
    actions = ["ApplyEyeMakeup", "ApplyLipstick", "Archery", "BabyCrawling", "BalanceBeam"]
    classnames = ["Apply_Eye_Makeup", "Apply_Lipstick", "Archery", "Baby_Crawling", "Balance_Beam"]
    dataset_dir = root / "ucf101"
    image_dir = dataset_dir / "UCF-101-midframes"
    n_trainval = PER_CLASS[0] + PER_CLASS[1]
    per_class, trainlist, testlist = [], [], []
    for label, (action, classname) in enumerate(zip(actions, classnames)):
        # Test videos come from groups 1-7 and training videos from groups 8-25, as in split 01.
        videos = [f"v_{action}_g{8 + i:02d}_c01" for i in range(n_trainval)]
        videos += [f"v_{action}_g{1 + i:02d}_c01" for i in range(IMAGES_PER_CLASS - n_trainval)]
        trainlist += [f"{action}/{v}.avi {label + 1}" for v in videos[:n_trainval]]
        testlist += [f"{action}/{v}.avi" for v in videos[n_trainval:]]
        per_class.append([(f"{classname}/{v}.jpg", label, classname) for v in videos])
    lists = dataset_dir / "ucfTrainTestlist"
    _write_text(lists / "classInd.txt", [f"{i + 1} {a}" for i, a in enumerate(actions)], newline="\r\n")
    _write_text(lists / "trainlist01.txt", trainlist, newline="\r\n")
    _write_text(lists / "testlist01.txt", testlist, newline="\r\n")
    return _split_file_dataset(
        per_class, name="UCF101", config="ucf101", dataset_dir=dataset_dir, image_dir=image_dir,
        classnames=classnames, split_file="split_zhou_UCF101.json", with_split=with_split,
    )


def fake_imagenet_name(wnid: str) -> str:
    """The class name fake class-name files give `wnid` (real names for the first five classes)."""
    return dict(IMAGENET_CLASSES).get(wnid, f"thing {wnid}")


def write_classnames(path: Path, wnids) -> None:
    """Write a CoOp `classnames.txt` (`<wnid> <name>` per line) for `wnids`."""
    _write_text(path, [f"{wnid} {fake_imagenet_name(wnid)}" for wnid in wnids])


def build_imagenet(root: Path, with_split: bool = True) -> FakeDataset:
    """imagenet/classnames.txt and images/{train,val}/<wnid>/*.JPEG (4 train, 2 val per class)."""
    dataset_dir = root / "imagenet"
    image_dir = dataset_dir / "images"
    wnids = [wnid for wnid, _ in IMAGENET_CLASSES]
    write_classnames(dataset_dir / "classnames.txt", wnids)
    records = {"train": [], "test": []}
    for label, (wnid, name) in enumerate(IMAGENET_CLASSES):
        records["train"] += [(f"train/{wnid}/{wnid}_{100 + i}.JPEG", label, name) for i in range(4)]
        records["test"] += [
            (f"val/{wnid}/ILSVRC2012_val_{label * 10 + i + 1:08d}.JPEG", label, name) for i in range(2)
        ]
    _write_images(image_dir, [r[0] for split in records.values() for r in split])
    return FakeDataset(
        name="ImageNet", config="imagenet", folder=dataset_dir, image_dir=image_dir,
        classnames=[name for _, name in IMAGENET_CLASSES], records=records,
    )


def _imagenet_test_set(
    root: Path, *, name: str, config: str, folder: str, image_folder: str, wnids,
    images: Callable[[int, str], list[str]], listed=None,
) -> FakeDataset:
    """A test-only ImageNet variant: classnames.txt for `listed` (default `wnids`), class i = `wnids[i]`.

    `images(label, wnid)` gives the paths, relative to the image folder, of one class's images.
    """
    dataset_dir = root / folder
    image_dir = dataset_dir / image_folder
    write_classnames(dataset_dir / "classnames.txt", wnids if listed is None else listed)
    test = [
        (path, label, fake_imagenet_name(wnid)) for label, wnid in enumerate(wnids) for path in images(label, wnid)
    ]
    _write_images(image_dir, [r[0] for r in test])
    return FakeDataset(
        name=name, config=config, folder=dataset_dir, image_dir=image_dir,
        classnames=[fake_imagenet_name(wnid) for wnid in wnids], records={"test": test},
    )


def build_imagenetv2(root: Path, with_split: bool = True) -> FakeDataset:
    """imagenetv2/imagenetv2-matched-frequency-format-val/<label>/<hash>.jpeg and classnames.txt."""
    return _imagenet_test_set(
        root, name="ImageNetV2", config="imagenetv2", folder="imagenetv2",
        image_folder="imagenetv2-matched-frequency-format-val", wnids=[wnid for wnid, _ in IMAGENET_CLASSES],
        images=lambda label, _: [f"{label}/{label:02d}{i}f3a9c0d1e2b.jpeg" for i in range(3)],
    )


def build_imagenet_sketch(root: Path, with_split: bool = True) -> FakeDataset:
    """imagenet-sketch/images/<wnid>/sketch_N.JPEG and classnames.txt."""
    return _imagenet_test_set(
        root, name="ImageNetSketch", config="imagenet_sketch", folder="imagenet-sketch", image_folder="images",
        wnids=[wnid for wnid, _ in IMAGENET_CLASSES],
        images=lambda _, wnid: [f"{wnid}/sketch_{i}.JPEG" for i in range(3)],
    )


def _imagenet_subset(root: Path, *, wnids, image_name: Callable[[int], str], **names: str) -> FakeDataset:
    """A 200-class ImageNet variant: every class folder with 2 images, a README.txt, classnames.txt.

    `names` are the name, config, folder and image_folder of `_imagenet_test_set`.
    """
    fake = _imagenet_test_set(
        root, **names, wnids=wnids, images=lambda _, wnid: [f"{wnid}/{image_name(i)}" for i in range(2)],
        # The real classnames.txt lists all 1,000 classes; a few beyond the subset stand for the rest.
        listed=sorted({*wnids, *(w for w, _ in IMAGENET_CLASSES)}),
    )
    (fake.image_dir / "README.txt").write_text("fake README beside the class folders\n", encoding="utf-8")
    return fake


def build_imagenet_a(root: Path, with_split: bool = True) -> FakeDataset:
    """imagenet-adversarial/imagenet-a/<wnid>/*.jpg for the 200 classes (file names with spaces)."""
    return _imagenet_subset(
        root, name="ImageNetA", config="imagenet_a", folder="imagenet-adversarial", image_folder="imagenet-a",
        wnids=IMAGENET_A_WNIDS, image_name=lambda i: f"0.00{i}116_digital clock _ digital clock_0.86.jpg",
    )


def build_imagenet_r(root: Path, with_split: bool = True) -> FakeDataset:
    """imagenet-rendition/imagenet-r/<wnid>/<style>_N.jpg for the 200 classes."""
    return _imagenet_subset(
        root, name="ImageNetR", config="imagenet_r", folder="imagenet-rendition", image_folder="imagenet-r",
        wnids=IMAGENET_R_WNIDS, image_name=lambda i: f"{('art', 'cartoon')[i]}_{i}.jpg",
    )


FAKE_LAYOUTS: dict[str, Callable[..., FakeDataset]] = {
    "imagenet": build_imagenet,
    "caltech101": build_caltech101,
    "oxford_pets": build_oxford_pets,
    "stanford_cars": build_stanford_cars,
    "oxford_flowers": build_oxford_flowers,
    "food101": build_food101,
    "fgvc_aircraft": build_fgvc_aircraft,
    "sun397": build_sun397,
    "dtd": build_dtd,
    "eurosat": build_eurosat,
    "ucf101": build_ucf101,
    "imagenetv2": build_imagenetv2,
    "imagenet_sketch": build_imagenet_sketch,
    "imagenet_a": build_imagenet_a,
    "imagenet_r": build_imagenet_r,
}


def build_fake_dataset(config: str, root: Path, with_split: bool = True) -> FakeDataset:
    """Write the fake copy of dataset `config` (a configs/datasets name) under `root`."""
    return FAKE_LAYOUTS[config](Path(root), with_split=with_split)


def rename_class(fake: FakeDataset, label: int, name: str) -> None:
    """Name class `label` of a fake dataset `name` where the dataset names its classes.

    That is its split file, else its class-name file (`classnames.txt`), else FGVCAircraft's
    variants.txt and the lists that name each image's variant.
    """
    old = fake.classnames[label]
    if fake.split_file and fake.records is not None:
        path = fake.folder / fake.split_file
        split = json.loads(path.read_text(encoding="utf-8"))
        for record in (record for records in split.values() for record in records if record[1] == label):
            record[2] = name
        path.write_text(json.dumps(split, indent=4), encoding="utf-8")
        return
    lists = [fake.folder / "classnames.txt"] if (fake.folder / "classnames.txt").is_file() else [
        fake.folder / "variants.txt", *sorted(fake.folder.glob("images_variant_*.txt"))
    ]
    for path in lists:
        lines = path.read_text(encoding="utf-8").splitlines()
        renamed = [_renamed_line(line, old, name, first_field=path.name != "variants.txt") for line in lines]
        assert renamed != lines, f"{old!r} is not in {path}"
        _write_text(path, renamed)


def _renamed_line(line: str, old: str, new: str, *, first_field: bool) -> str:
    """`line` with the class name `old` replaced by `new`; after a first field (`<id> <name>`) if `first_field`."""
    if not first_field:
        return new if line == old else line
    head, _, tail = line.partition(" ")
    return f"{head} {new}" if tail == old else line


def dataset_cfg(root, config: str, *, shots: int = -1, seed: int = 1, subsample: str = "all"):
    """The full config for reading dataset `config` (its configs/datasets yaml) from data root `root`."""
    cfg = get_cfg()
    cfg.merge_from_file(str(REPO / "configs" / "datasets" / f"{config}.yaml"))
    cfg.DATASET.ROOT = str(root)
    cfg.DATASET.NUM_SHOTS = shots
    cfg.DATASET.SUBSAMPLE_CLASSES = subsample
    cfg.SEED = seed
    return cfg


def build_reader(cfg):
    """The dataset that the reader registered as cfg.DATASET.NAME builds from `cfg`."""
    return DATASET_REGISTRY.get(cfg.DATASET.NAME)(cfg)


def relative_records(items, image_dir) -> list[Record]:
    """Sorted (path relative to image_dir, label, class name) of Datum items."""
    return sorted(
        (os.path.relpath(d.impath, image_dir).replace(os.sep, "/"), d.label, d.classname) for d in items
    )


def fake_items(
    image_dir: Path, counts, *, folder: str = "c{label}", file: str = "img_{i}.png",
    classname: str = "class {label}",
) -> list[Datum]:
    """Empty image files `image_dir/<folder>/<file>` and their Datum items, `count` per (label, count).

    `folder` and `classname` are formatted with the label, `file` with the image's index in its class.
    """
    items = []
    for label, count in counts:
        class_dir = image_dir / folder.format(label=label)
        class_dir.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            path = class_dir / file.format(i=i)
            path.touch()
            items.append(Datum(impath=str(path), label=label, classname=classname.format(label=label)))
    return items
