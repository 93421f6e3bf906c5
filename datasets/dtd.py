"""DescribableTextures (DTD): 47 texture classes, CoOp's split."""
from mopd.backend import DATASET_REGISTRY
from mopd.data.readers import SplitFileReader


@DATASET_REGISTRY.register()
class DescribableTextures(SplitFileReader):
    """DATASET.ROOT/dtd: images/<texture>/*.jpg and split_zhou_DescribableTextures.json."""

    dataset_dir = "dtd"
    config = "dtd"
    section = "DTD"
    image_folder = "images"
    split_file = "split_zhou_DescribableTextures.json"
