"""ImageNetV2 (matched frequency): a new test set for ImageNet's 1,000 classes; test only."""
from mopd.backend import DATASET_REGISTRY, Datum
from mopd.data.imagenet_classes import find_classnames_file, read_imagenet_classnames
from mopd.data.layout import DatasetLocation, check_class_folders, read_class_folders
from mopd.data.readers import ImageNetVariantReader


@DATASET_REGISTRY.register()
class ImageNetV2(ImageNetVariantReader):
    """DATASET.ROOT/imagenetv2: imagenetv2-matched-frequency-format-val/<label>/*.jpeg.

    Folder `i` holds label i, the i-th class of classnames.txt. Test only: train is the test
    set, as in CoOp.
    """

    dataset_dir = "imagenetv2"
    config = "imagenetv2"
    section = "ImageNetV2"
    image_folder = "imagenetv2-matched-frequency-format-val"

    def read_test(self, location: DatasetLocation) -> list[Datum]:
        """The images of folders 0, 1, ..., one per line of classnames.txt, labelled by their number."""
        classnames = list(read_imagenet_classnames(find_classnames_file(location)).values())
        folders = [str(label) for label in range(len(classnames))]
        check_class_folders(location, self.image_dir, folders)
        return read_class_folders(self.image_dir, folders, classnames)
