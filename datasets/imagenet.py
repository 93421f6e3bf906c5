"""ImageNet (ILSVRC-2012): 1,000 classes; the val set is the test set, as in CoOp."""
from mopd.backend import DATASET_REGISTRY, DatasetBase
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.imagenet_classes import CLASSNAMES_FILE, classnames_of, read_imagenet_classnames
from mopd.data.layout import list_subfolders, locate_dataset, read_class_folders, require_class_folders


@DATASET_REGISTRY.register()
class ImageNet(DatasetBase):
    """DATASET.ROOT/imagenet: images/{train,val}/<wnid>/*.JPEG and classnames.txt.

    Labels follow the sorted class folders of images/train. There is no val split: val and
    test are both the official val set, so few-shot sampling draws train images only.
    """

    dataset_dir = "imagenet"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="ImageNet", config="imagenet", section="ImageNet"
        )
        self.dataset_dir = location.folder
        classnames_path = location.require_file(CLASSNAMES_FILE, what="class-name file")
        self.image_dir = location.require_dir("images", what="image folder")
        train_dir = location.require_dir("images", "train", what="training image folder")
        val_dir = location.require_dir("images", "val", what="validation image folder")

        wnids = require_class_folders(location, train_dir)
        _check_same_class_folders(train_dir, val_dir, wnids)
        classnames = classnames_of(
            wnids, read_imagenet_classnames(classnames_path), source=classnames_path, image_dir=train_dir
        )
        train = read_class_folders(train_dir, wnids, classnames)
        test = read_class_folders(val_dir, wnids, classnames)
        train, _, test = build_dataset_splits(
            cfg, train, None, test, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, val=test, test=test)


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
