"""EuroSAT: 10 land-cover classes of Sentinel-2 RGB patches, CoOp's split and class names."""
from mopd.backend import DATASET_REGISTRY, DatasetBase
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.layout import locate_dataset, read_or_create_split
from mopd.data.splits import split_class_folders

SPLIT_FILE = "split_zhou_EuroSAT.json"
# CoOp's readable names for the class folders; its split file already holds them.
NEW_CNAMES = {
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


@DATASET_REGISTRY.register()
class EuroSAT(DatasetBase):
    """DATASET.ROOT/eurosat: 2750/<class>/*.jpg and split_zhou_EuroSAT.json."""

    dataset_dir = "eurosat"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="EuroSAT", config="eurosat", section="EuroSAT"
        )
        self.dataset_dir = location.folder
        self.image_dir = location.require_dir("2750", what="image folder")
        train, val, test = read_or_create_split(
            location, SPLIT_FILE, self.image_dir,
            lambda: split_class_folders(self.image_dir, new_cnames=NEW_CNAMES),
        )
        train, val, test = build_dataset_splits(
            cfg, train, val, test, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, val=val, test=test)
