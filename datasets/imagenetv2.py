"""ImageNetV2 (matched frequency): a new test set for ImageNet's 1,000 classes; test only."""
from mopd.backend import DATASET_REGISTRY, DatasetBase
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.imagenet_classes import find_classnames_file, read_imagenet_classnames
from mopd.data.layout import check_class_folders, locate_dataset, read_class_folders

IMAGE_FOLDER = "imagenetv2-matched-frequency-format-val"


@DATASET_REGISTRY.register()
class ImageNetV2(DatasetBase):
    """DATASET.ROOT/imagenetv2: imagenetv2-matched-frequency-format-val/<label>/*.jpeg.

    Folder `i` holds label i, the i-th class of classnames.txt. Test only: train is the test
    set, as in CoOp.
    """

    dataset_dir = "imagenetv2"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="ImageNetV2", config="imagenetv2", section="ImageNetV2"
        )
        self.dataset_dir = location.folder
        self.image_dir = location.require_dir(IMAGE_FOLDER, what="image folder")
        classnames = list(read_imagenet_classnames(find_classnames_file(location)).values())

        folders = [str(label) for label in range(len(classnames))]
        check_class_folders(location, self.image_dir, folders)
        data = read_class_folders(self.image_dir, folders, classnames)
        train, _, test = build_dataset_splits(
            cfg, data, None, data, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, test=test)
