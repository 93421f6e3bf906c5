"""FGVCAircraft: 100 aircraft variants, with the dataset's own train/val/test lists."""
import os

from mopd.backend import DATASET_REGISTRY, Datum
from mopd.data.annotations import read_text_lines
from mopd.data.distinct import require_distinct_images
from mopd.data.layout import DatasetLocation
from mopd.data.readers import DatasetReader, Splits
from mopd.data.splits import to_records


@DATASET_REGISTRY.register()
class FGVCAircraft(DatasetReader):
    """DATASET.ROOT/fgvc_aircraft (the archive's data/): images/, variants.txt, images_variant_*.txt.

    Labels follow the order of variants.txt; the split is the dataset's (no split file).
    """

    dataset_dir = "fgvc_aircraft"
    config = "fgvc_aircraft"
    section = "FGVCAircraft"
    image_folder = "images"

    def read_splits(self, location: DatasetLocation) -> Splits:
        """The items of images_variant_{train,val,test}.txt, labelled by the order of variants.txt.

        A variant listed twice, or an image listed twice or under two variants, raises ValueError.
        """
        variants_path = location.require_file("variants.txt", what="class list")
        variants = read_text_lines(variants_path)
        labels = {variant: label for label, variant in enumerate(variants)}
        if len(labels) < len(variants):
            repeated = sorted({variant for variant in variants if variants.count(variant) > 1})
            raise ValueError(f"{variants_path} lists {repeated} more than once; list each variant once")
        splits = {
            split: _read_variant_list(
                location.require_file(f"images_variant_{split}.txt", what=f"{split} list"), self.image_dir, labels
            )
            for split in ("train", "val", "test")
        }
        require_distinct_images(
            {split: to_records(items, self.image_dir) for split, items in splits.items()},
            source=f"the lists images_variant_{{train,val,test}}.txt in {location.folder}", fix="correct them",
        )
        return splits["train"], splits["val"], splits["test"]


def _read_variant_list(path: str, image_dir: str, labels: dict[str, int]) -> list[Datum]:
    """Items of a list of lines `<image id> <variant>` (the variant may contain spaces)."""
    items = []
    for line in read_text_lines(path):
        image_id, _, variant = line.partition(" ")
        if variant not in labels:
            raise ValueError(
                f"{path} has the line {line!r}, whose variant {variant!r} is not in variants.txt"
            )
        impath = os.path.join(image_dir, image_id + ".jpg")
        items.append(Datum(impath=impath, label=labels[variant], classname=variant))
    return items
