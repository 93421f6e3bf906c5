"""StanfordCars: 196 car models, CoOp's split and class names ("2012 Tesla Model S")."""
import os
from typing import Sequence

from mopd.backend import DATASET_REGISTRY, Datum
from mopd.data.annotations import load_mat
from mopd.data.class_splits import split_trainval
from mopd.data.readers import SplitFileReader
from mopd.data.splits import SplitTriple


@DATASET_REGISTRY.register()
class StanfordCars(SplitFileReader):
    """DATASET.ROOT/stanford_cars: cars_train/, cars_test/ and split_zhou_StanfordCars.json.

    Split paths are relative to the dataset folder ("cars_train/00001.jpg"). Without the split
    file, one is made from the devkit's .mat annotations (needs scipy).
    """

    dataset_dir = "stanford_cars"
    config = "stanford_cars"
    section = "StanfordCars"
    required_folders = {"cars_train": "training image folder", "cars_test": "test image folder"}
    split_file = "split_zhou_StanfordCars.json"
    split_sources = ("devkit/cars_meta.mat", "devkit/cars_train_annos.mat", "cars_test_annos_withlabels.mat")

    def create_split(self, sources: list[str], split_path: str) -> SplitTriple:
        """Train and val from the devkit's training annotations, test from the labelled test annotations."""
        meta_file, trainval_file, test_file = sources
        class_names = load_mat(meta_file, split_path=split_path)["class_names"][0]
        trainval = _read_annotations(trainval_file, "cars_train", self.image_dir, class_names, split_path)
        test = _read_annotations(test_file, "cars_test", self.image_dir, class_names, split_path)
        train, val = split_trainval(trainval)
        return train, val, test


def year_first(class_name: str) -> str:
    """CoOp's class name of a car: the devkit's "<make> <model> <year>" with the year moved first."""
    *make_model, year = class_name.split(" ")
    return " ".join([year, *make_model])


def _read_annotations(
    path: str, image_folder: str, dataset_dir: str, class_names: Sequence, split_path: str
) -> list[Datum]:
    """Items of a devkit annotation .mat file (records with `fname` and a 1-based `class`)."""
    items = []
    for record in load_mat(path, split_path=split_path)["annotations"][0]:
        label = int(record["class"][0, 0]) - 1
        items.append(
            Datum(
                impath=os.path.join(dataset_dir, image_folder, str(record["fname"][0])),
                label=label,
                classname=year_first(str(class_names[label][0])),
            )
        )
    return items
