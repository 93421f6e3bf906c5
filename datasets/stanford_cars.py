"""StanfordCars: 196 car models, CoOp's split and class names ("2012 Tesla Model S")."""
import os
from typing import Sequence

from mopd.backend import DATASET_REGISTRY, Datum, DatasetBase
from mopd.data.annotations import load_mat
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.layout import locate_dataset, read_or_create_split
from mopd.data.splits import split_trainval

SPLIT_FILE = "split_zhou_StanfordCars.json"


@DATASET_REGISTRY.register()
class StanfordCars(DatasetBase):
    """DATASET.ROOT/stanford_cars: cars_train/, cars_test/ and split_zhou_StanfordCars.json.

    Split paths are relative to the dataset folder ("cars_train/00001.jpg"). Without the split
    file, one is made from the devkit's .mat annotations (needs scipy).
    """

    dataset_dir = "stanford_cars"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="StanfordCars", config="stanford_cars",
            section="StanfordCars",
        )
        self.dataset_dir = self.image_dir = location.folder
        location.require_dir("cars_train", what="training image folder")
        location.require_dir("cars_test", what="test image folder")
        split_path = location.path(SPLIT_FILE)
        meta_file = location.path("devkit", "cars_meta.mat")
        trainval_file = location.path("devkit", "cars_train_annos.mat")
        test_file = location.path("cars_test_annos_withlabels.mat")

        def create():
            class_names = load_mat(meta_file, split_path=split_path)["class_names"][0]
            trainval = _read_annotations(trainval_file, "cars_train", self.image_dir, class_names, split_path)
            test = _read_annotations(test_file, "cars_test", self.image_dir, class_names, split_path)
            train, val = split_trainval(trainval)
            return train, val, test

        train, val, test = read_or_create_split(
            location, SPLIT_FILE, self.image_dir, create, sources=(meta_file, trainval_file, test_file)
        )
        train, val, test = build_dataset_splits(
            cfg, train, val, test, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, val=val, test=test)


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
