"""ImageNet-Sketch: sketches of ImageNet's 1,000 classes; test only."""
from mopd.backend import DATASET_REGISTRY, DatasetBase
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.imagenet_classes import classnames_of, find_classnames_file, read_imagenet_classnames
from mopd.data.layout import locate_dataset, read_class_folders, require_class_folders


@DATASET_REGISTRY.register()
class ImageNetSketch(DatasetBase):
    """DATASET.ROOT/imagenet-sketch: images/<wnid>/*.JPEG; labels follow the sorted folders.

    Test only: train is the test set, as in CoOp.
    """

    dataset_dir = "imagenet-sketch"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="ImageNetSketch", config="imagenet_sketch",
            section="ImageNet-Sketch",
        )
        self.dataset_dir = location.folder
        self.image_dir = location.require_dir("images", what="image folder")
        classnames_path = find_classnames_file(location)
        wnids = require_class_folders(location, self.image_dir)
        classnames = classnames_of(
            wnids, read_imagenet_classnames(classnames_path), source=classnames_path, image_dir=self.image_dir
        )
        data = read_class_folders(self.image_dir, wnids, classnames)
        train, _, test = build_dataset_splits(
            cfg, data, None, data, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, test=test)
