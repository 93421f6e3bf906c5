"""SUN397: 397 scene classes, CoOp's split and class names ("outdoor apartment_building")."""
import os

from mopd.backend import DATASET_REGISTRY, Datum
from mopd.data.annotations import read_text_lines
from mopd.data.class_splits import split_trainval
from mopd.data.readers import SplitFileReader
from mopd.data.splits import SplitTriple


@DATASET_REGISTRY.register()
class SUN397(SplitFileReader):
    """DATASET.ROOT/sun397: SUN397/<letter>/<class>[/<place>]/*.jpg and split_zhou_SUN397.json.

    Without the split file, one is made from partition 01 (Training_01.txt, 80% train and 20%
    val; Testing_01.txt) with labels in the order of ClassName.txt.
    """

    dataset_dir = "sun397"
    config = "sun397"
    section = "SUN397"
    image_folder = "SUN397"
    split_file = "split_zhou_SUN397.json"
    split_sources = ("ClassName.txt", "Training_01.txt", "Testing_01.txt")

    def create_split(self, sources: list[str], split_path: str) -> SplitTriple:
        """Train and val from Training_01.txt, test from Testing_01.txt, labels from ClassName.txt."""
        class_file, training_file, testing_file = sources
        labels = {line.lstrip("/"): label for label, line in enumerate(read_text_lines(class_file))}
        train, val = split_trainval(_read_partition(training_file, self.image_dir, labels))
        return train, val, _read_partition(testing_file, self.image_dir, labels)


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
