"""`python -m mopd.data check` and the dataset catalog: ready/missing reports against CoOp's layouts."""
import json
import os

import pytest

from mopd.data import catalog
from mopd.cli.data import main
from mopd.data.check import check_dataset, ensure_ready, format_report

# The on-disk layouts of CoOp's DATASETS.md (a trailing "/" is a folder, given one file inside here).
LAYOUTS = {
    "imagenet": ("imagenet", ["images/train/", "images/val/", "classnames.txt"]),
    "caltech101": ("caltech-101", ["101_ObjectCategories/", "split_zhou_Caltech101.json"]),
    "oxford_pets": ("oxford_pets", ["images/", "annotations/", "split_zhou_OxfordPets.json"]),
    "stanford_cars": ("stanford_cars", [
        "cars_test/", "cars_test_annos_withlabels.mat", "cars_train/", "devkit/", "split_zhou_StanfordCars.json",
    ]),
    "oxford_flowers": ("oxford_flowers", [
        "cat_to_name.json", "imagelabels.mat", "jpg/", "split_zhou_OxfordFlowers.json",
    ]),
    "food101": ("food-101", ["images/", "meta/", "split_zhou_Food101.json"]),
    "fgvc_aircraft": ("fgvc_aircraft", [
        "images/", "variants.txt", "images_variant_train.txt", "images_variant_val.txt", "images_variant_test.txt",
    ]),
    "sun397": ("sun397", ["SUN397/", "ClassName.txt", "split_zhou_SUN397.json"]),
    "dtd": ("dtd", ["images/", "imdb/", "labels/", "split_zhou_DescribableTextures.json"]),
    "eurosat": ("eurosat", ["2750/", "split_zhou_EuroSAT.json"]),
    "ucf101": ("ucf101", ["UCF-101-midframes/", "split_zhou_UCF101.json"]),
    "imagenetv2": ("imagenetv2", ["imagenetv2-matched-frequency-format-val/", "classnames.txt"]),
    "imagenet_sketch": ("imagenet-sketch", ["images/", "classnames.txt"]),
    "imagenet_a": ("imagenet-adversarial", ["imagenet-a/", "classnames.txt"]),
    "imagenet_r": ("imagenet-rendition", ["imagenet-r/", "classnames.txt"]),
}


def _make(root, name, skip=()):
    """Create the DATASETS.md layout of `name` under `root`, leaving out the items in `skip`."""
    folder, items = LAYOUTS[name]
    for item in items:
        if item in skip:
            continue
        path = os.path.join(root, folder, item.rstrip("/"))
        if item.endswith("/"):
            os.makedirs(path, exist_ok=True)
            with open(os.path.join(path, "sample.jpg"), "wb") as f:
                f.write(b"x")
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(_content(item))
    return os.path.join(root, folder)


def _content(item: str) -> str:
    """A file of a layout, as `check` reads it: an empty split file, one class in a class-name list."""
    if item.startswith("split_") and item.endswith(".json"):
        return '{"train": [], "val": [], "test": []}'
    return {"classnames.txt": "n01440764 tench\n", "variants.txt": "707-320\n"}.get(item, "{}")


def test_catalog_has_the_fifteen_datasets_of_the_config_names():
    assert catalog.dataset_names() == list(LAYOUTS)


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_catalog_required_items_are_each_produced_by_one_source_or_the_manual_step(name):
    entry = catalog.get_entry(name)
    produced = [item for source in entry.sources for item in source.provides] + list(entry.manual_items)
    assert sorted(produced) == sorted(entry.required)
    for source in entry.sources:
        assert source.url.startswith(("http://", "https://")) or source.gdrive_id, source.name
        if not source.is_archive:
            assert source.provides == (os.path.join(source.dest, source.name),)
    if entry.manual_items or not all(source.public for source in entry.sources):
        assert entry.manual


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_complete_layout_is_ready(name, tmp_path):
    _make(str(tmp_path), name)
    assert check_dataset(str(tmp_path), name) == []
    assert format_report(str(tmp_path), name, []) == f"{name}: ready ({os.path.join(str(tmp_path), LAYOUTS[name][0])})"


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_each_missing_item_is_named_by_its_full_path(name, tmp_path):
    for item in LAYOUTS[name][1]:
        root = tmp_path / item.replace("/", "_")
        folder = _make(str(root), name, skip={item})
        expected = os.path.join(folder, item.rstrip("/")) + (os.sep if item.endswith("/") else "")
        assert check_dataset(str(root), name) == [expected]


def test_empty_folder_counts_as_missing(tmp_path):
    folder = _make(str(tmp_path), "eurosat", skip={"2750/"})
    os.makedirs(os.path.join(folder, "2750"))
    assert check_dataset(str(tmp_path), "eurosat") == [os.path.join(folder, "2750") + os.sep]


def test_check_of_a_partial_dataset_names_the_missing_items_and_the_prepare_command(tmp_path, capsys):
    folder = _make(str(tmp_path), "oxford_pets", skip={"annotations/", "split_zhou_OxfordPets.json"})
    assert main(["check", "--root", str(tmp_path), "oxford_pets", "eurosat"]) == 1
    out = capsys.readouterr().out
    assert f"missing: {os.path.join(folder, 'annotations')}{os.sep}\n" in out
    assert f"missing: {os.path.join(folder, 'split_zhou_OxfordPets.json')}\n" in out
    assert os.path.join(folder, "images") not in out
    assert f"to get them: python -m mopd.data prepare oxford_pets --root {tmp_path}" in out
    assert "eurosat: NOT READY, 2 missing" in out


def test_check_of_ready_datasets_exits_zero(tmp_path, capsys):
    _make(str(tmp_path), "dtd")
    _make(str(tmp_path), "caltech101")
    assert main(["check", "--root", str(tmp_path), "dtd", "caltech101"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"dtd: ready ({tmp_path / 'dtd'})", f"caltech101: ready ({tmp_path / 'caltech-101'})",
    ]


def test_check_without_names_reports_all_fifteen(tmp_path, capsys):
    for name in LAYOUTS:
        _make(str(tmp_path), name)
    os.remove(os.path.join(str(tmp_path), "ucf101", "split_zhou_UCF101.json"))
    assert main(["check", "--root", str(tmp_path)]) == 1
    first_lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")]
    assert [line.split(":")[0] for line in first_lines] == list(LAYOUTS)
    assert [line for line in first_lines if "NOT READY" in line] == [
        f"ucf101: NOT READY, 1 missing in {tmp_path / 'ucf101'}:",
    ]


def test_registration_datasets_get_the_manual_step(tmp_path):
    missing = check_dataset(str(tmp_path), "imagenet")
    report = format_report(str(tmp_path), "imagenet", missing)
    assert "manual step:" in report and "https://image-net.org" in report
    assert "to get classnames.txt: python -m mopd.data prepare imagenet" in report
    _make(str(tmp_path), "imagenet", skip={"images/val/"})
    report = format_report(str(tmp_path), "imagenet", check_dataset(str(tmp_path), "imagenet"))
    assert "prepare" not in report.split("manual step:")[0]


def test_stanford_cars_report_explains_that_its_host_is_gone(tmp_path):
    _make(str(tmp_path), "stanford_cars", skip={"devkit/"})
    report = format_report(str(tmp_path), "stanford_cars", check_dataset(str(tmp_path), "stanford_cars"))
    assert "no longer serves the files" in report and "--mirror" in report


def test_missing_root_is_a_clear_error(tmp_path, capsys):
    missing_root = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=f"data root {missing_root} does not exist"):
        check_dataset(str(missing_root), "dtd")
    assert main(["check", "--root", str(missing_root)]) == 1
    assert f"data root {missing_root} does not exist" in capsys.readouterr().out


def test_unknown_name_suggests_the_nearest(tmp_path, capsys):
    with pytest.raises(KeyError, match="did you mean 'oxford_pets'"):
        check_dataset(str(tmp_path), "oxford_pet")
    assert main(["check", "--root", str(tmp_path), "caltech"]) == 1
    assert "did you mean 'caltech101'" in capsys.readouterr().out


def test_reader_name_is_accepted_as_a_dataset_name(tmp_path):
    _make(str(tmp_path), "dtd")
    assert check_dataset(str(tmp_path), "DescribableTextures") == []


def test_ensure_ready_raises_with_the_report(tmp_path):
    folder = _make(str(tmp_path), "sun397", skip={"ClassName.txt"})
    with pytest.raises(FileNotFoundError, match=f"missing: {os.path.join(folder, 'ClassName.txt')}"):
        ensure_ready(str(tmp_path), "sun397")
    open(os.path.join(folder, "ClassName.txt"), "w").close()
    ensure_ready(str(tmp_path), "sun397")


def test_root_defaults_to_the_data_environment_variable(tmp_path, monkeypatch, capsys):
    _make(str(tmp_path), "eurosat")
    monkeypatch.setenv("DATA", str(tmp_path))
    assert main(["check", "eurosat"]) == 0
    assert f"eurosat: ready ({tmp_path / 'eurosat'})" in capsys.readouterr().out


def test_check_accepts_the_generated_synthetic_dataset_that_training_reads(tmp_path, capsys):
    from mopd.data.synthetic import generate_synthetic_dataset

    folder = generate_synthetic_dataset(str(tmp_path), num_classes=2, train_per_class=1, val_per_class=1, test_per_class=1)
    assert main(["check", "--root", str(tmp_path), "synthetic"]) == 0
    assert main(["check", "--root", str(tmp_path), "Synthetic"]) == 0  # DATASET.NAME works too
    assert capsys.readouterr().out.splitlines() == [f"synthetic: ready ({folder})"] * 2


def test_check_of_a_missing_synthetic_dataset_says_how_to_generate_it(tmp_path, capsys):
    assert main(["check", "--root", str(tmp_path), "synthetic"]) == 1
    out = capsys.readouterr().out
    assert f"synthetic: NOT READY, 2 missing in {tmp_path / 'synthetic'}:" in out
    assert "generate it with `python -m mopd.data.synthetic --root $DATA`" in out


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def test_check_reports_a_split_file_listing_an_image_twice_or_under_two_labels_and_classes_named_alike(
    tmp_path, capsys
):
    folder = _make(str(tmp_path), "dtd")
    split = os.path.join(folder, "split_zhou_DescribableTextures.json")
    _write(split, json.dumps({
        "train": [["banded/a.jpg", 0, "banded"], ["bumpy/b.jpg", 1, "Banded"]],
        "val": [["banded/a.jpg", 1, "Banded"]],
        "test": [["bumpy/c.jpg", 1, "Banded"], ["bumpy/c.jpg", 1, "Banded"]],
    }))
    assert main(["check", "--root", str(tmp_path), "dtd"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"dtd: NOT READY, 3 problem(s) in {folder}:",
        f"  problem: split file {split} lists 'bumpy/c.jpg' twice in test (label 1, 'Banded')",
        f"  problem: split file {split} lists 'banded/a.jpg' under two labels: 0 ('banded') in train and 1 ('Banded') "
        "in val",
        f"  problem: split file {split}: classes 0 ('banded') and 1 ('Banded') give CLIP the same text",
    ]


def test_check_reports_a_malformed_split_file_and_a_missing_item_together(tmp_path, capsys):
    folder = _make(str(tmp_path), "eurosat", skip={"2750/"})
    split = os.path.join(folder, "split_zhou_EuroSAT.json")
    _write(split, "{}")
    assert main(["check", "--root", str(tmp_path), "eurosat"]) == 1
    out = capsys.readouterr().out
    assert f"eurosat: NOT READY, 1 missing and 1 problem(s) in {folder}:" in out
    assert f"  problem: split file {split} lacks ['train', 'val', 'test']" in out
    assert "  to get them: python -m mopd.data prepare eurosat" in out


@pytest.mark.parametrize(
    "name, file, lines",
    [("imagenet", "classnames.txt", ["n01440764 tench", "n01443537 Tench"]),
     ("imagenet_sketch", "classnames.txt", ["n01440764 great_white shark", "n01443537 great white  shark"]),
     ("fgvc_aircraft", "variants.txt", ["A300B4", "a300b4"])],
)
def test_check_reports_classes_named_alike_in_a_class_name_list(name, file, lines, tmp_path, capsys):
    folder = _make(str(tmp_path), name)
    _write(os.path.join(folder, file), "".join(line + "\n" for line in lines))
    assert main(["check", "--root", str(tmp_path), name]) == 1
    first, second = (line.split(" ", 1)[1] if file == "classnames.txt" else line for line in lines)
    assert (
        f"  problem: {os.path.join(folder, file)}: classes 0 ({first!r}) and 1 ({second!r}) give CLIP the same text"
        in capsys.readouterr().out
    )


def test_check_accepts_clips_two_shared_imagenet_names_with_a_warning(tmp_path, capsys):
    folder = _make(str(tmp_path), "imagenet_r")
    lines = ["n03773504 missile", "n04008634 missile", "n04355933 sunglasses", "n04356056 sunglasses", "n0 tench"]
    _write(os.path.join(folder, "classnames.txt"), "".join(line + "\n" for line in lines))
    assert main(["check", "--root", str(tmp_path), "imagenet_r"]) == 0
    out = capsys.readouterr().out
    assert "classes 0 ('missile') and 1 ('missile') share a name" in out
    assert "classes 2 ('sunglasses') and 3 ('sunglasses') share a name" in out
    assert out.splitlines()[-1] == f"imagenet_r: ready ({folder})"


def test_check_reports_a_few_shot_cache_listing_an_image_twice(tmp_path, capsys):
    folder = _make(str(tmp_path), "caltech101")
    cache = os.path.join(folder, "split_fewshot", "shot_1-seed_2.json")
    os.makedirs(os.path.dirname(cache))
    _write(cache, json.dumps({"train": [["face/a.jpg", 0, "face"], ["face/a.jpg", 0, "face"]], "val": None}))
    assert main(["check", "--root", str(tmp_path), "caltech101"]) == 1
    assert f"  problem: few-shot cache {cache} lists 'face/a.jpg' twice in train (label 0, 'face')" in (
        capsys.readouterr().out
    )
