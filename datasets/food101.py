"""Food101: 101 dish classes, CoOp's split."""
from mopd.backend import DATASET_REGISTRY, DatasetBase
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.layout import locate_dataset, read_or_create_split
from mopd.data.splits import split_class_folders

SPLIT_FILE = "split_zhou_Food101.json"


@DATASET_REGISTRY.register()
class Food101(DatasetBase):
    """DATASET.ROOT/food-101: images/<dish>/*.jpg and split_zhou_Food101.json."""

    dataset_dir = "food-101"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="Food101", config="food101", section="Food101"
        )
        self.dataset_dir = location.folder
        self.image_dir = location.require_dir("images", what="image folder")
        train, val, test = read_or_create_split(
            location, SPLIT_FILE, self.image_dir, lambda: split_class_folders(self.image_dir)
        )
        train, val, test = build_dataset_splits(
            cfg, train, val, test, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, val=val, test=test)
