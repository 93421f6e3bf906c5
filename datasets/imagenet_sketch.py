"""ImageNet-Sketch: sketches of ImageNet's 1,000 classes; test only."""
from mopd.backend import DATASET_REGISTRY, Datum
from mopd.data.imagenet_classes import classnames_of, find_classnames_file
from mopd.data.layout import DatasetLocation, read_class_folders, require_class_folders
from mopd.data.readers import ImageNetVariantReader


@DATASET_REGISTRY.register()
class ImageNetSketch(ImageNetVariantReader):
    """DATASET.ROOT/imagenet-sketch: images/<wnid>/*.JPEG; labels follow the sorted folders.

    Test only: train is the test set, as in CoOp.
    """

    dataset_dir = "imagenet-sketch"
    config = "imagenet_sketch"
    section = "ImageNet-Sketch"
    image_folder = "images"

    def read_test(self, location: DatasetLocation) -> list[Datum]:
        """The images of every <wnid> folder, label i for the i-th sorted folder."""
        classnames_path = find_classnames_file(location)
        wnids = require_class_folders(location, self.image_dir)
        classnames = classnames_of(wnids, classnames_path, image_dir=self.image_dir)
        return read_class_folders(self.image_dir, wnids, classnames)
