"""OxfordFlowers (Flowers102): 102 flower species, CoOp's split."""
import os

from mopd.backend import DATASET_REGISTRY, Datum
from mopd.data.annotations import load_mat
from mopd.data.class_splits import split_per_class
from mopd.files.io import read_json
from mopd.data.readers import SplitFileReader
from mopd.data.splits import SplitTriple


@DATASET_REGISTRY.register()
class OxfordFlowers(SplitFileReader):
    """DATASET.ROOT/oxford_flowers: jpg/image_NNNNN.jpg and split_zhou_OxfordFlowers.json.

    When the split file exists it is all that is read. Without it, one is made (50% train, 20%
    val, 30% test per class) from imagelabels.mat, which needs scipy, and cat_to_name.json.
    """

    dataset_dir = "oxford_flowers"
    config = "oxford_flowers"
    section = "Flowers102"
    image_folder = "jpg"
    split_file = "split_zhou_OxfordFlowers.json"
    split_sources = ("imagelabels.mat", "cat_to_name.json")

    def create_split(self, sources: list[str], split_path: str) -> SplitTriple:
        """Image i has the i-th label of imagelabels.mat, named by cat_to_name.json; cut per class."""
        label_file, names_file = sources
        labels = load_mat(label_file, split_path=split_path)["labels"][0]
        names = read_json(names_file)
        items = [
            Datum(
                impath=os.path.join(self.image_dir, f"image_{index:05d}.jpg"),
                label=int(label) - 1,
                classname=names[str(int(label))],
            )
            for index, label in enumerate(labels, start=1)
        ]
        return split_per_class(items)
