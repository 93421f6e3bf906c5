"""EuroSAT: 10 land-cover classes of Sentinel-2 RGB patches, CoOp's split and class names."""
from mopd.backend import DATASET_REGISTRY
from mopd.data.readers import SplitFileReader


@DATASET_REGISTRY.register()
class EuroSAT(SplitFileReader):
    """DATASET.ROOT/eurosat: 2750/<class>/*.jpg and split_zhou_EuroSAT.json."""

    dataset_dir = "eurosat"
    config = "eurosat"
    section = "EuroSAT"
    image_folder = "2750"
    split_file = "split_zhou_EuroSAT.json"
    # CoOp's readable names for the class folders; its split file already holds them.
    new_cnames = {
        "AnnualCrop": "Annual Crop Land",
        "Forest": "Forest",
        "HerbaceousVegetation": "Herbaceous Vegetation Land",
        "Highway": "Highway or Road",
        "Industrial": "Industrial Buildings",
        "Pasture": "Pasture Land",
        "PermanentCrop": "Permanent Crop Land",
        "Residential": "Residential Buildings",
        "River": "River",
        "SeaLake": "Sea or Lake",
    }
