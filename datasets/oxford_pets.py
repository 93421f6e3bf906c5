"""OxfordPets (Oxford-IIIT Pet): 37 cat and dog breeds, CoOp's split."""
import os

from mopd.backend import DATASET_REGISTRY, Datum, DatasetBase
from mopd.data.annotations import read_text_lines
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.layout import locate_dataset, read_or_create_split
from mopd.data.splits import split_trainval

SPLIT_FILE = "split_zhou_OxfordPets.json"


@DATASET_REGISTRY.register()
class OxfordPets(DatasetBase):
    """DATASET.ROOT/oxford_pets: images/*.jpg, annotations/ and split_zhou_OxfordPets.json.

    Without the split file, one is made from annotations/trainval.txt (80% train, 20% val) and
    annotations/test.txt; class names are the lower-cased breeds of the image names.
    """

    dataset_dir = "oxford_pets"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="OxfordPets", config="oxford_pets", section="OxfordPets"
        )
        self.dataset_dir = location.folder
        self.image_dir = location.require_dir("images", what="image folder")
        trainval_file = location.path("annotations", "trainval.txt")
        test_file = location.path("annotations", "test.txt")

        def create():
            train, val = split_trainval(_read_annotations(trainval_file, self.image_dir))
            return train, val, _read_annotations(test_file, self.image_dir)

        train, val, test = read_or_create_split(
            location, SPLIT_FILE, self.image_dir, create, sources=(trainval_file, test_file)
        )
        train, val, test = build_dataset_splits(
            cfg, train, val, test, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, val=val, test=test)


def _read_annotations(path: str, image_dir: str) -> list[Datum]:
    """Items of an annotation list: lines `<Breed_name>_<n> <class id 1-37> <species> <breed id>`."""
    items = []
    for line in read_text_lines(path):
        if line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 4:
            raise ValueError(
                f"{path} has the line {line!r}, expected '<image> <class id> <species> <breed id>'"
            )
        image_name, class_id = fields[0], int(fields[1])
        breed = image_name.rsplit("_", 1)[0].lower()
        impath = os.path.join(image_dir, image_name + ".jpg")
        items.append(Datum(impath=impath, label=class_id - 1, classname=breed))
    return items
