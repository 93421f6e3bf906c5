"""ImageNet-A (natural adversarial examples): 200 ImageNet classes; test only."""
from mopd.backend import DATASET_REGISTRY
from mopd.data.imagenet_classes import IMAGENET_A_WNIDS
from mopd.data.readers import ImageNetSubsetReader


@DATASET_REGISTRY.register()
class ImageNetA(ImageNetSubsetReader):
    """DATASET.ROOT/imagenet-adversarial: imagenet-a/<wnid>/*.jpg for the 200 classes of `IMAGENET_A_WNIDS`.

    Label i is the i-th of the sorted WordNet ids, CoOp's order. Test only: train is the test
    set, as in CoOp.
    """

    dataset_dir = "imagenet-adversarial"
    config = "imagenet_a"
    section = "ImageNet-A"
    image_folder = "imagenet-a"
    wnids = IMAGENET_A_WNIDS
