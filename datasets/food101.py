"""Food101: 101 dish classes, CoOp's split."""
from mopd.backend import DATASET_REGISTRY
from mopd.data.readers import SplitFileReader


@DATASET_REGISTRY.register()
class Food101(SplitFileReader):
    """DATASET.ROOT/food-101: images/<dish>/*.jpg and split_zhou_Food101.json."""

    dataset_dir = "food-101"
    config = "food101"
    section = "Food101"
    image_folder = "images"
    split_file = "split_zhou_Food101.json"
