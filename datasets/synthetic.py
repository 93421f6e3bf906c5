"""Synthetic: generated coloured shapes with real class names, for demos and end-to-end tests."""
import os

from mopd.backend import DATASET_REGISTRY, DatasetBase
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.layout import fewshot_folder
from mopd.data.splits import read_split
from mopd.data.synthetic import DATASET_FOLDER, IMAGE_FOLDER, SPLIT_FILE


@DATASET_REGISTRY.register()
class Synthetic(DatasetBase):
    """The dataset written by `python -m mopd.data.synthetic --root <DATASET.ROOT>`."""

    dataset_dir = DATASET_FOLDER

    def __init__(self, cfg):
        root = os.path.abspath(os.path.expanduser(cfg.DATASET.ROOT))
        self.dataset_dir = os.path.join(root, self.dataset_dir)
        self.image_dir = os.path.join(self.dataset_dir, IMAGE_FOLDER)
        split_path = os.path.join(self.dataset_dir, SPLIT_FILE)
        if not os.path.isfile(split_path):
            raise FileNotFoundError(
                f"synthetic dataset not found: {split_path} does not exist; generate it with "
                f"`python -m mopd.data.synthetic --root {root}`"
            )
        train, val, test = read_split(split_path, self.image_dir)
        train, val, test = build_dataset_splits(
            cfg, train, val, test,
            fewshot_dir=fewshot_folder(self.dataset_dir, cfg.DATASET.SPLIT_CACHE_DIR), image_dir=self.image_dir,
        )
        super().__init__(train_x=train, val=val, test=test)
