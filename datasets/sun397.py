"""SUN397: 397 scene classes, CoOp's split and class names ("outdoor apartment_building")."""
import os

from mopd.backend import DATASET_REGISTRY, Datum, DatasetBase
from mopd.data.annotations import read_text_lines
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.layout import locate_dataset, read_or_create_split
from mopd.data.splits import split_trainval

SPLIT_FILE = "split_zhou_SUN397.json"


@DATASET_REGISTRY.register()
class SUN397(DatasetBase):
    """DATASET.ROOT/sun397: SUN397/<letter>/<class>[/<place>]/*.jpg and split_zhou_SUN397.json.

    Without the split file, one is made from partition 01 (Training_01.txt, 80% train and 20%
    val; Testing_01.txt) with labels in the order of ClassName.txt.
    """

    dataset_dir = "sun397"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="SUN397", config="sun397", section="SUN397"
        )
        self.dataset_dir = location.folder
        self.image_dir = location.require_dir("SUN397", what="image folder")
        sources = [location.path(name) for name in ("ClassName.txt", "Training_01.txt", "Testing_01.txt")]

        def create():
            labels = {line.lstrip("/"): label for label, line in enumerate(read_text_lines(sources[0]))}
            train, val = split_trainval(_read_partition(sources[1], self.image_dir, labels))
            return train, val, _read_partition(sources[2], self.image_dir, labels)

        train, val, test = read_or_create_split(location, SPLIT_FILE, self.image_dir, create, sources=sources)
        train, val, test = build_dataset_splits(
            cfg, train, val, test, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, val=val, test=test)


def _read_partition(path: str, image_dir: str, labels: dict[str, int]) -> list[Datum]:
    """Items of a partition file of lines `/<letter>/<class>[/<place>]/<image>`.

    The class name drops the letter and puts the place first: `a/apartment_building/outdoor`
    becomes "outdoor apartment_building".
    """
    items = []
    for line in read_text_lines(path):
        rel_path = line.lstrip("/")
        category = os.path.dirname(rel_path)
        if category not in labels:
            raise ValueError(f"{path} lists {line!r}, whose class {category!r} is not in ClassName.txt")
        classname = " ".join(reversed(category.split("/")[1:]))
        impath = os.path.join(image_dir, rel_path)
        items.append(Datum(impath=impath, label=labels[category], classname=classname))
    return items
