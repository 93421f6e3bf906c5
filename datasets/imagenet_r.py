"""ImageNet-R (renditions: art, cartoons, sketches, ...): 200 ImageNet classes; test only."""
from mopd.backend import DATASET_REGISTRY
from mopd.data.imagenet_classes import IMAGENET_R_WNIDS
from mopd.data.readers import ImageNetSubsetReader


@DATASET_REGISTRY.register()
class ImageNetR(ImageNetSubsetReader):
    """DATASET.ROOT/imagenet-rendition: imagenet-r/<wnid>/*.jpg for the 200 classes of `IMAGENET_R_WNIDS`.

    Label i is the i-th of the sorted WordNet ids, CoOp's order. Test only: train is the test
    set, as in CoOp.
    """

    dataset_dir = "imagenet-rendition"
    config = "imagenet_r"
    section = "ImageNet-R"
    image_folder = "imagenet-r"
    wnids = IMAGENET_R_WNIDS
