"""UCF101: 101 human actions, one middle frame per video, CoOp's split and class names."""
import os
import re

from mopd.backend import DATASET_REGISTRY, Datum, DatasetBase
from mopd.data.annotations import read_text_lines
from mopd.data.dataset_splits import build_dataset_splits
from mopd.data.layout import locate_dataset, read_or_create_split
from mopd.data.splits import split_trainval

SPLIT_FILE = "split_zhou_UCF101.json"
LIST_FOLDER = "ucfTrainTestlist"


@DATASET_REGISTRY.register()
class UCF101(DatasetBase):
    """DATASET.ROOT/ucf101: UCF-101-midframes/<Action_Name>/*.jpg and split_zhou_UCF101.json.

    Without the split file, one is made from ucfTrainTestlist/ (split 01: trainlist01.txt, 80%
    train and 20% val; testlist01.txt) with labels from classInd.txt.
    """

    dataset_dir = "ucf101"

    def __init__(self, cfg):
        location = locate_dataset(
            cfg.DATASET.ROOT, self.dataset_dir, name="UCF101", config="ucf101", section="UCF101"
        )
        self.dataset_dir = location.folder
        self.image_dir = location.require_dir("UCF-101-midframes", what="image folder")
        sources = [
            location.path(LIST_FOLDER, name) for name in ("classInd.txt", "trainlist01.txt", "testlist01.txt")
        ]

        def create():
            labels = {}
            for line in read_text_lines(sources[0]):
                index, action = line.split()
                labels[action] = int(index) - 1
            train, val = split_trainval(_read_video_list(sources[1], self.image_dir, labels))
            return train, val, _read_video_list(sources[2], self.image_dir, labels)

        train, val, test = read_or_create_split(location, SPLIT_FILE, self.image_dir, create, sources=sources)
        train, val, test = build_dataset_splits(
            cfg, train, val, test, fewshot_dir=location.fewshot_dir, image_dir=self.image_dir
        )
        super().__init__(train_x=train, val=val, test=test)


def split_camel_case(action: str) -> str:
    """CoOp's class name of an action: its capitalised words joined by "_" (YoYo -> Yo_Yo)."""
    return "_".join(re.findall(r"[A-Z][^A-Z]*", action))


def _read_video_list(path: str, image_dir: str, labels: dict[str, int]) -> list[Datum]:
    """Items of a video list (lines `<Action>/<video>.avi [label]`): the frame <Action_Name>/<video>.jpg."""
    items = []
    for line in read_text_lines(path):
        action, video = line.split()[0].split("/")
        if action not in labels:
            raise ValueError(f"{path} lists {line!r}, whose action {action!r} is not in classInd.txt")
        classname = split_camel_case(action)
        frame = os.path.splitext(video)[0] + ".jpg"
        impath = os.path.join(image_dir, classname, frame)
        items.append(Datum(impath=impath, label=labels[action], classname=classname))
    return items
