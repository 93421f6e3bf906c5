"""OxfordPets (Oxford-IIIT Pet): 37 cat and dog breeds, CoOp's split."""
import os

from mopd.backend import DATASET_REGISTRY, Datum
from mopd.data.annotations import read_text_lines
from mopd.data.class_splits import split_trainval
from mopd.data.readers import SplitFileReader
from mopd.data.splits import SplitTriple


@DATASET_REGISTRY.register()
class OxfordPets(SplitFileReader):
    """DATASET.ROOT/oxford_pets: images/*.jpg, annotations/ and split_zhou_OxfordPets.json.

    Without the split file, one is made from annotations/trainval.txt (80% train, 20% val) and
    annotations/test.txt; class names are the lower-cased breeds of the image names.
    """

    dataset_dir = "oxford_pets"
    config = "oxford_pets"
    section = "OxfordPets"
    image_folder = "images"
    split_file = "split_zhou_OxfordPets.json"
    split_sources = ("annotations/trainval.txt", "annotations/test.txt")

    def create_split(self, sources: list[str], split_path: str) -> SplitTriple:
        """Train and val from trainval.txt, test from test.txt."""
        trainval_file, test_file = sources
        train, val = split_trainval(_read_annotations(trainval_file, self.image_dir))
        return train, val, _read_annotations(test_file, self.image_dir)


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
