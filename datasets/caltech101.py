"""Caltech101: 100 object classes (the background and duplicate face classes left out), CoOp's split."""
from mopd.backend import DATASET_REGISTRY, DatasetBase
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.layout import locate_dataset, read_or_create_split
from mopd.data.splits import split_class_folders

SPLIT_FILE = "split_zhou_Caltech101.json"
IGNORED = ("BACKGROUND_Google", "Faces_easy")  # clutter, and a near-duplicate of Faces
NEW_CNAMES = {"airplanes": "airplane", "Faces": "face", "Leopards": "leopard", "Motorbikes": "motorbike"}


@DATASET_REGISTRY.register()
class Caltech101(DatasetBase):
    """DATASET.ROOT/caltech-101: 101_ObjectCategories/<class>/*.jpg and split_zhou_Caltech101.json."""

    dataset_dir = "caltech-101"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="Caltech101", config="caltech101", section="Caltech101"
        )
        self.dataset_dir = location.folder
        self.image_dir = location.require_dir("101_ObjectCategories", what="image folder")
        train, val, test = read_or_create_split(
            location, SPLIT_FILE, self.image_dir,
            lambda: split_class_folders(self.image_dir, ignored=IGNORED, new_cnames=NEW_CNAMES),
        )
        train, val, test = build_dataset_splits(
            cfg, train, val, test, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, val=val, test=test)
