"""Where each dataset lives under $DATA, what a ready copy contains, and where its files come from.

Layouts follow CoOp's DATASETS.md. A required item ending in "/" is a folder (ready when it holds at
least one entry); any other item is a file. Every required item is produced either by one `Source`
(downloaded by `python -m mopd.data prepare`) or by the dataset's manual step. The generated
synthetic dataset has an entry too, so that `check` accepts every dataset that training does.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from mopd.data.synthetic import DATASET_FOLDER, IMAGE_FOLDER, SPLIT_FILE

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


@dataclass(frozen=True)
class Source:
    """One downloadable file and the required items it produces once placed (and extracted)."""

    name: str  # file name of the download; the key of `--url NAME=URL` and the file read from a --mirror
    provides: tuple[str, ...]  # required items (relative to the dataset folder) this download produces
    url: str = ""  # public HTTP(S) URL; empty when the file only lives on Google Drive
    gdrive_id: str = ""  # Google Drive file id, fetched with gdown
    size: int | None = None  # bytes, when known
    md5: str = ""  # hex digest, when known
    sha256: str = ""  # hex digest, when known
    public: bool = True  # False: the host is gone or needs registration, so only --url/--mirror fetch it
    archive_root: str | None = None  # folder inside the archive whose contents are placed; None: automatic
    dest: str = ""  # folder under the dataset folder that receives the file or the archive's contents
    inner_archive: str = ""  # archive inside the download that holds the data (extracted in turn)
    copy_from: str = ""  # file under the data root that, when present, is copied instead of downloading

    @property
    def is_archive(self) -> bool:
        """Whether the download is extracted (zip, tar, tar.gz, tgz) rather than placed as is."""
        return self.name.endswith(ARCHIVE_SUFFIXES)


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset: its folder under $DATA, the items a ready copy holds, and how to get them."""

    name: str  # key used on the command line (the config file name, e.g. "caltech101")
    reader: str  # DATASET.NAME of the reader in datasets/ (e.g. "Caltech101")
    folder: str  # folder under the data root
    required: tuple[str, ...]  # items a ready copy holds; "x/" is a non-empty folder, "x" a file
    sources: tuple[Source, ...] = ()
    manual_items: tuple[str, ...] = ()  # required items no source can fetch: the user follows `manual`
    manual: str = ""  # instructions for the manual items and for sources that are not public
    homepage: str = ""
    notes: tuple[str, ...] = ()  # where a source differs from DATASETS.md, and why


def _split(file_name: str, gdrive_id: str) -> Source:
    """The split_zhou_*.json (or other small JSON) that CoOp publishes on Google Drive."""
    return Source(name=file_name, provides=(file_name,), gdrive_id=gdrive_id)


_IMAGENET_CLASSNAMES_ID = "1-61f_ol79pViBFDG_IDlUQSwoLcn2XXF"


def _imagenet_classnames() -> Source:
    """CLIP's ImageNet class names: copied from $DATA/imagenet when present, else downloaded."""
    return Source(
        name="classnames.txt", provides=("classnames.txt",), gdrive_id=_IMAGENET_CLASSNAMES_ID,
        copy_from="imagenet/classnames.txt",
    )


_CARS_MANUAL = (
    "The original Stanford Cars host (ai.stanford.edu/~jkrause) no longer serves the files. Get "
    "cars_train.tgz, cars_test.tgz, car_devkit.tgz and cars_test_annos_withlabels.mat from a mirror of "
    "the original release and run `python -m mopd.data prepare stanford_cars --root $DATA --mirror "
    "BASE_URL` (or `--url cars_train.tgz=URL ...`), or extract them by hand so that "
    "$DATA/stanford_cars holds cars_train/, cars_test/, devkit/ and cars_test_annos_withlabels.mat."
)

_ENTRIES = (
    DatasetEntry(
        name="imagenet", reader="ImageNet", folder="imagenet",
        required=("images/train/", "images/val/", "classnames.txt"),
        sources=(Source(name="classnames.txt", provides=("classnames.txt",), gdrive_id=_IMAGENET_CLASSNAMES_ID),),
        manual_items=("images/train/", "images/val/"),
        manual=(
            "ImageNet needs registration: download ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar from "
            "https://image-net.org, extract them so that $DATA/imagenet/images/train and "
            "$DATA/imagenet/images/val each hold the 1,000 class folders (n01440764, ...), or symlink an "
            "existing copy there."
        ),
        homepage="https://image-net.org",
    ),
    DatasetEntry(
        name="caltech101", reader="Caltech101", folder="caltech-101",
        required=("101_ObjectCategories/", "split_zhou_Caltech101.json"),
        sources=(
            Source(
                name="caltech-101.zip", provides=("101_ObjectCategories/",),
                url="https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip",
                md5="3138e1922a9193bfa496528edbbc45d0",
                inner_archive="caltech-101/101_ObjectCategories.tar.gz",
            ),
            _split("split_zhou_Caltech101.json", "1hyarUivQE36mY6jSomru6Fjd-JzwcCzN"),
        ),
        homepage="https://data.caltech.edu/records/mzrjq-6wc02",
        notes=(
            "DATASETS.md's www.vision.caltech.edu URL is gone; the dataset's current record serves a zip "
            "that wraps the same 101_ObjectCategories.tar.gz.",
        ),
    ),
    DatasetEntry(
        name="oxford_pets", reader="OxfordPets", folder="oxford_pets",
        required=("images/", "annotations/", "split_zhou_OxfordPets.json"),
        sources=(
            Source(
                name="images.tar.gz", provides=("images/",),
                url="https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz",
                md5="5c4f3ee8e5d25df40f4fd59a7f44e54c",
            ),
            Source(
                name="annotations.tar.gz", provides=("annotations/",),
                url="https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz",
                md5="95a8c909bbe2e81eed6a22bccdf3f68f",
            ),
            _split("split_zhou_OxfordPets.json", "1501r8Ber4nNKvmlFVQZ8SeUHTcdTTEqs"),
        ),
        homepage="https://www.robots.ox.ac.uk/~vgg/data/pets/",
    ),
    DatasetEntry(
        name="stanford_cars", reader="StanfordCars", folder="stanford_cars",
        required=(
            "cars_train/", "cars_test/", "devkit/", "cars_test_annos_withlabels.mat",
            "split_zhou_StanfordCars.json",
        ),
        sources=(
            Source(
                name="cars_train.tgz", provides=("cars_train/",), public=False,
                url="http://ai.stanford.edu/~jkrause/car196/cars_train.tgz",
                md5="065e5b463ae28d29e77c1b4b166cfe61",
            ),
            Source(
                name="cars_test.tgz", provides=("cars_test/",), public=False,
                url="http://ai.stanford.edu/~jkrause/car196/cars_test.tgz",
                md5="4ce7ebf6a94d07f1952d94dd34c4d501",
            ),
            Source(
                name="car_devkit.tgz", provides=("devkit/",), public=False,
                url="https://ai.stanford.edu/~jkrause/cars/car_devkit.tgz",
                md5="c3b158d763b6e2245038c8ad08e45376",
            ),
            Source(
                name="cars_test_annos_withlabels.mat", provides=("cars_test_annos_withlabels.mat",), public=False,
                url="http://ai.stanford.edu/~jkrause/car196/cars_test_annos_withlabels.mat",
                md5="b0a2b23655a3edd16d84508592a98d10",
            ),
            _split("split_zhou_StanfordCars.json", "1ObCFbaAgVu0I-k_Au-gIUcefirdAuizT"),
        ),
        manual=_CARS_MANUAL,
        homepage="https://ai.stanford.edu/~jkrause/cars/car_dataset.html",
    ),
    DatasetEntry(
        name="oxford_flowers", reader="OxfordFlowers", folder="oxford_flowers",
        required=("jpg/", "imagelabels.mat", "cat_to_name.json", "split_zhou_OxfordFlowers.json"),
        sources=(
            Source(
                name="102flowers.tgz", provides=("jpg/",),
                url="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/102flowers.tgz",
                md5="52808999861908f626f3c1f4e79d11fa",
            ),
            Source(
                name="imagelabels.mat", provides=("imagelabels.mat",),
                url="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/imagelabels.mat",
                md5="e0620be6f572b9609742df49c70aed4d",
            ),
            _split("cat_to_name.json", "1AkcxCXeK_RCGCEC_GvmWxjcjaNhu-at0"),
            _split("split_zhou_OxfordFlowers.json", "1Pp0sRXzZFZq15zVOzKjKBu4A9i01nozT"),
        ),
        homepage="https://www.robots.ox.ac.uk/~vgg/data/flowers/102/",
    ),
    DatasetEntry(
        name="food101", reader="Food101", folder="food-101",
        required=("images/", "meta/", "split_zhou_Food101.json"),
        sources=(
            Source(
                name="food-101.tar.gz", provides=("images/", "meta/"),
                url="http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz",
                md5="85eeb15f3717b99a5da872d97d918f87",
            ),
            _split("split_zhou_Food101.json", "1QK0tGi096I0Ba6kggatX1ee6dJFIcEJl"),
        ),
        homepage="https://data.vision.ee.ethz.ch/cvl/datasets_extra/food-101/",
    ),
    DatasetEntry(
        name="fgvc_aircraft", reader="FGVCAircraft", folder="fgvc_aircraft",
        required=(
            "images/", "variants.txt", "images_variant_train.txt", "images_variant_val.txt",
            "images_variant_test.txt",
        ),
        sources=(
            Source(
                name="fgvc-aircraft-2013b.tar.gz",
                provides=(
                    "images/", "variants.txt", "images_variant_train.txt", "images_variant_val.txt",
                    "images_variant_test.txt",
                ),
                url="https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz",
                archive_root="fgvc-aircraft-2013b/data",
            ),
        ),
        homepage="https://www.robots.ox.ac.uk/~vgg/data/fgvc-aircraft/",
    ),
    DatasetEntry(
        name="sun397", reader="SUN397", folder="sun397",
        required=("SUN397/", "ClassName.txt", "split_zhou_SUN397.json"),
        sources=(
            Source(
                name="SUN397.tar.gz", provides=("SUN397/",),
                url="http://vision.princeton.edu/projects/2010/SUN/SUN397.tar.gz",
                md5="8ca2778205c41d23104230ba66911c7a",
            ),
            Source(
                name="Partitions.zip", provides=("ClassName.txt",),
                url="https://vision.princeton.edu/projects/2010/SUN/download/Partitions.zip",
            ),
            _split("split_zhou_SUN397.json", "1y2RD81BYuiyvebdN-JymPfyWYcd8_MUq"),
        ),
        homepage="https://vision.princeton.edu/projects/2010/SUN/",
    ),
    DatasetEntry(
        name="dtd", reader="DescribableTextures", folder="dtd",
        required=("images/", "imdb/", "labels/", "split_zhou_DescribableTextures.json"),
        sources=(
            Source(
                name="dtd-r1.0.1.tar.gz", provides=("images/", "imdb/", "labels/"),
                url="https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz",
                md5="fff73e5086ae6bdbea199a49dfb8a4c1",
            ),
            _split("split_zhou_DescribableTextures.json", "1u3_QfB467jqHgNXC00UIzbLZRQCg2S7x"),
        ),
        homepage="https://www.robots.ox.ac.uk/~vgg/data/dtd/",
    ),
    DatasetEntry(
        name="eurosat", reader="EuroSAT", folder="eurosat",
        required=("2750/", "split_zhou_EuroSAT.json"),
        sources=(
            Source(
                name="EuroSAT.zip", provides=("2750/",),
                url=(
                    "https://huggingface.co/datasets/torchgeo/eurosat/resolve/"
                    "c877bcd43f099cd0196738f714544e355477f3fd/EuroSAT.zip"
                ),
                md5="c8fa014336c82ac7804f0398fcb19387",
            ),
            _split("split_zhou_EuroSAT.json", "1Ip7yaCWFi0eaOFUGga0lUdVi_DDQth1o"),
        ),
        homepage="https://github.com/phelber/eurosat",
        notes=("DATASETS.md's madm.dfki.de URL is gone; the same EuroSAT.zip is served by the TorchGeo copy.",),
    ),
    DatasetEntry(
        name="ucf101", reader="UCF101", folder="ucf101",
        required=("UCF-101-midframes/", "split_zhou_UCF101.json"),
        sources=(
            Source(
                name="UCF-101-midframes.zip", provides=("UCF-101-midframes/",),
                gdrive_id="10Jqome3vtUA2keJkNanAiFpgbyC9Hc2O",
            ),
            _split("split_zhou_UCF101.json", "1I0S0q91hJfsV9Gf4xDIjgDq4AqBNJb1y"),
        ),
        homepage="https://www.crcv.ucf.edu/data/UCF101.php",
    ),
    DatasetEntry(
        name="imagenetv2", reader="ImageNetV2", folder="imagenetv2",
        required=("imagenetv2-matched-frequency-format-val/", "classnames.txt"),
        sources=(
            Source(
                name="imagenetv2-matched-frequency.tar.gz", provides=("imagenetv2-matched-frequency-format-val/",),
                url="https://s3-us-west-2.amazonaws.com/imagenetv2public/imagenetv2-matched-frequency.tar.gz",
            ),
            _imagenet_classnames(),
        ),
        homepage="https://github.com/modestyachts/ImageNetV2",
    ),
    DatasetEntry(
        name="imagenet_sketch", reader="ImageNetSketch", folder="imagenet-sketch",
        required=("images/", "classnames.txt"),
        sources=(
            Source(
                name="ImageNet-Sketch.zip", provides=("images/",), gdrive_id="1Mj0i5HBthqH1p_yeXzsg22gZduvgoNeA",
                archive_root="sketch", dest="images",
            ),
            _imagenet_classnames(),
        ),
        homepage="https://github.com/HaohanWang/ImageNet-Sketch",
    ),
    DatasetEntry(
        name="imagenet_a", reader="ImageNetA", folder="imagenet-adversarial",
        required=("imagenet-a/", "classnames.txt"),
        sources=(
            Source(
                name="imagenet-a.tar", provides=("imagenet-a/",),
                url="https://people.eecs.berkeley.edu/~hendrycks/imagenet-a.tar",
                md5="c3e55429088dc681f30d81f4726b6595",
            ),
            _imagenet_classnames(),
        ),
        homepage="https://github.com/hendrycks/natural-adv-examples",
    ),
    DatasetEntry(
        name="imagenet_r", reader="ImageNetR", folder="imagenet-rendition",
        required=("imagenet-r/", "classnames.txt"),
        sources=(
            Source(
                name="imagenet-r.tar", provides=("imagenet-r/",),
                url="https://people.eecs.berkeley.edu/~hendrycks/imagenet-r.tar",
                md5="a61312130a589d0ca1a8fca1f2bd3337",
            ),
            _imagenet_classnames(),
        ),
        homepage="https://github.com/hendrycks/imagenet-r",
    ),
)

CATALOG: dict[str, DatasetEntry] = {entry.name: entry for entry in _ENTRIES}

# Datasets generated on this machine rather than downloaded: checked by name, not part of "all".
GENERATED: dict[str, DatasetEntry] = {
    "synthetic": DatasetEntry(
        name="synthetic", reader="Synthetic", folder=DATASET_FOLDER, required=(f"{IMAGE_FOLDER}/", SPLIT_FILE),
        manual_items=(f"{IMAGE_FOLDER}/", SPLIT_FILE),
        manual="generate it with `python -m mopd.data.synthetic --root $DATA` ($DATA being the data root)",
    ),
}


def dataset_names() -> list[str]:
    """The catalog keys of the benchmark datasets, in DATASETS.md order."""
    return list(CATALOG)


def get_entry(name: str) -> DatasetEntry:
    """The entry for a catalog key or a reader name (DATASET.NAME); unknown names raise KeyError."""
    entries = {**CATALOG, **GENERATED}
    if name in entries:
        return entries[name]
    for entry in entries.values():
        if entry.reader == name:
            return entry
    nearest = difflib.get_close_matches(name, list(entries) + [e.reader for e in entries.values()], n=1)
    hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
    raise KeyError(f"unknown dataset {name!r}; valid names: {', '.join(entries)}{hint}")
