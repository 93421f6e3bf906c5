"""ImageNet-R (renditions: art, cartoons, sketches, ...): 200 ImageNet classes; test only."""
from mopd.backend import DATASET_REGISTRY, DatasetBase
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.imagenet_classes import (
    IMAGENET_R_WNIDS,
    classnames_of,
    find_classnames_file,
    read_imagenet_classnames,
)
from mopd.data.layout import check_class_folders, locate_dataset, read_class_folders


@DATASET_REGISTRY.register()
class ImageNetR(DatasetBase):
    """DATASET.ROOT/imagenet-rendition: imagenet-r/<wnid>/*.jpg for the 200 classes of `IMAGENET_R_WNIDS`.

    Label i is the i-th of the sorted WordNet ids, CoOp's order. Test only: train is the test
    set, as in CoOp.
    """

    dataset_dir = "imagenet-rendition"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="ImageNetR", config="imagenet_r", section="ImageNet-R"
        )
        self.dataset_dir = location.folder
        self.image_dir = location.require_dir("imagenet-r", what="image folder")
        check_class_folders(location, self.image_dir, IMAGENET_R_WNIDS)
        classnames_path = find_classnames_file(location)
        classnames = classnames_of(
            IMAGENET_R_WNIDS, read_imagenet_classnames(classnames_path), source=classnames_path,
            image_dir=self.image_dir,
        )
        data = read_class_folders(self.image_dir, IMAGENET_R_WNIDS, classnames)
        train, _, test = build_dataset_splits(
            cfg, data, None, data, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, test=test)
