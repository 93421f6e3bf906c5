"""ImageNet (ILSVRC-2012): 1,000 classes; the val set is the test set, as in CoOp."""
import os

from mopd.backend import DATASET_REGISTRY
from mopd.data.imagenet_classes import CLASSNAMES_FILE, CLIP_SHARED_NAMES, classnames_of
from mopd.data.layout import DatasetLocation, list_subfolders, read_class_folders, require_class_folders
from mopd.data.readers import DatasetReader, Splits


@DATASET_REGISTRY.register()
class ImageNet(DatasetReader):
    """DATASET.ROOT/imagenet: images/{train,val}/<wnid>/*.JPEG and classnames.txt.

    Labels follow the sorted class folders of images/train. There is no val split: val and
    test are both the official val set, so few-shot sampling draws train images only.
    """

    dataset_dir = "imagenet"
    config = "imagenet"
    section = "ImageNet"
    image_folder = "images"
    required_folders = {"images/train": "training image folder", "images/val": "validation image folder"}
    val_is_test = True
    shared_names = CLIP_SHARED_NAMES

    def read_splits(self, location: DatasetLocation) -> Splits:
        """The images of train/<wnid>/ as train and of val/<wnid>/ as test, in the same label order."""
        classnames_path = location.require_file(CLASSNAMES_FILE, what="class-name file")
        train_dir, val_dir = (os.path.join(self.image_dir, split) for split in ("train", "val"))
        wnids = require_class_folders(location, train_dir)
        _check_same_class_folders(train_dir, val_dir, wnids)
        classnames = classnames_of(wnids, classnames_path, image_dir=train_dir)
        train = read_class_folders(train_dir, wnids, classnames)
        return train, None, read_class_folders(val_dir, wnids, classnames)


def _check_same_class_folders(train_dir: str, val_dir: str, wnids: list[str]) -> None:
    """Raise ValueError unless val holds exactly the class folders of train (labels must agree)."""
    val_wnids = list_subfolders(val_dir)
    if val_wnids == wnids:
        return
    if not val_wnids:
        raise ValueError(
            f"{val_dir} has no class folders; sort the validation images into one <wnid> folder per "
            f"class, like {train_dir} (see the ImageNet section of CoOp's DATASETS.md)"
        )
    only_train = sorted(set(wnids) - set(val_wnids))
    only_val = sorted(set(val_wnids) - set(wnids))
    raise ValueError(
        f"{train_dir} and {val_dir} hold different class folders (only in train: {only_train[:5]}, "
        f"only in val: {only_val[:5]}), so their labels would disagree; extract both sets completely"
    )
