"""UCF101: 101 human actions, one middle frame per video, CoOp's split and class names."""
import os
import re

from mopd.backend import DATASET_REGISTRY, Datum
from mopd.data.annotations import read_text_lines
from mopd.data.class_splits import split_trainval
from mopd.data.readers import SplitFileReader
from mopd.data.splits import SplitTriple


@DATASET_REGISTRY.register()
class UCF101(SplitFileReader):
    """DATASET.ROOT/ucf101: UCF-101-midframes/<Action_Name>/*.jpg and split_zhou_UCF101.json.

    Without the split file, one is made from ucfTrainTestlist/ (split 01: trainlist01.txt, 80%
    train and 20% val; testlist01.txt) with labels from classInd.txt.
    """

    dataset_dir = "ucf101"
    config = "ucf101"
    section = "UCF101"
    image_folder = "UCF-101-midframes"
    split_file = "split_zhou_UCF101.json"
    split_sources = (
        "ucfTrainTestlist/classInd.txt", "ucfTrainTestlist/trainlist01.txt", "ucfTrainTestlist/testlist01.txt"
    )

    def create_split(self, sources: list[str], split_path: str) -> SplitTriple:
        """Train and val from trainlist01.txt, test from testlist01.txt, labels from classInd.txt."""
        class_file, train_file, test_file = sources
        labels = {}
        for line in read_text_lines(class_file):
            index, action = line.split()
            labels[action] = int(index) - 1
        train, val = split_trainval(_read_video_list(train_file, self.image_dir, labels))
        return train, val, _read_video_list(test_file, self.image_dir, labels)


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
