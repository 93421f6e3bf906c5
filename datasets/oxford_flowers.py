"""OxfordFlowers (Flowers102): 102 flower species, CoOp's split."""
import os

from mopd.backend import DATASET_REGISTRY, Datum, DatasetBase
from mopd.data.annotations import load_mat
from mopd.data.class_splits import split_per_class
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.io import read_json
from mopd.data.layout import locate_dataset, read_or_create_split

SPLIT_FILE = "split_zhou_OxfordFlowers.json"


@DATASET_REGISTRY.register()
class OxfordFlowers(DatasetBase):
    """DATASET.ROOT/oxford_flowers: jpg/image_NNNNN.jpg and split_zhou_OxfordFlowers.json.

    When the split file exists it is all that is read. Without it, one is made (50% train, 20%
    val, 30% test per class) from imagelabels.mat, which needs scipy, and cat_to_name.json.
    """

    dataset_dir = "oxford_flowers"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="OxfordFlowers", config="oxford_flowers",
            section="Flowers102",
        )
        self.dataset_dir = location.folder
        self.image_dir = location.require_dir("jpg", what="image folder")
        label_file = location.path("imagelabels.mat")
        names_file = location.path("cat_to_name.json")

        def create():
            labels = load_mat(label_file, split_path=location.path(SPLIT_FILE))["labels"][0]
            names = read_json(names_file)
            items = [
                Datum(
                    impath=os.path.join(self.image_dir, f"image_{index:05d}.jpg"),
                    label=int(label) - 1,
                    classname=names[str(int(label))],
                )
                for index, label in enumerate(labels, start=1)
            ]
            return split_per_class(items)

        train, val, test = read_or_create_split(
            location, SPLIT_FILE, self.image_dir, create, sources=(label_file, names_file)
        )
        train, val, test = build_dataset_splits(
            cfg, train, val, test, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, val=val, test=test)
