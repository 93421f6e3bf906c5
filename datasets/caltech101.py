"""Caltech101: 100 object classes (the background and duplicate face classes left out), CoOp's split."""
from mopd.backend import DATASET_REGISTRY
from mopd.data.readers import SplitFileReader


@DATASET_REGISTRY.register()
class Caltech101(SplitFileReader):
    """DATASET.ROOT/caltech-101: 101_ObjectCategories/<class>/*.jpg and split_zhou_Caltech101.json."""

    dataset_dir = "caltech-101"
    config = "caltech101"
    section = "Caltech101"
    image_folder = "101_ObjectCategories"
    split_file = "split_zhou_Caltech101.json"
    ignored_folders = ("BACKGROUND_Google", "Faces_easy")  # clutter, and a near-duplicate of Faces
    new_cnames = {"airplanes": "airplane", "Faces": "face", "Leopards": "leopard", "Motorbikes": "motorbike"}
