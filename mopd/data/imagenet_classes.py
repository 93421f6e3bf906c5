"""The ImageNet family's class names: CoOp's `classnames.txt`, and the 200-class subsets of ImageNet-A/-R.

`classnames.txt` (from CoOp's DATASETS.md, names from CLIP's ImageNet notebook) has one class
per line: the WordNet id, a space, the class name. CoOp reads it from each dataset's own folder
(users copy it there); a variant whose folder lacks it falls back to `imagenet/classnames.txt`.
"""
from __future__ import annotations

import os
from typing import Sequence

from mopd.data.annotations import read_text_lines
from mopd.data.layout import DatasetLocation

CLASSNAMES_FILE = "classnames.txt"
IMAGENET_FOLDER = "imagenet"

# CLIP's ImageNet class names, which classnames.txt copies, give two pairs of classes one name:
# n03773504 and n04008634 are both "missile", n04355933 and n04356056 both "sunglasses". CLIP and
# the CoOp family evaluate with them, so the ImageNet readers accept these shared names (with a
# warning) to keep results comparable; any other pair of classes CLIP cannot tell apart is refused.
CLIP_SHARED_NAMES = frozenset({"missile", "sunglasses"})

# Every WordNet id of ImageNet-A or ImageNet-R, sorted, marked with the subsets whose class folders
# include it (A: ImageNet-A, R: ImageNet-R; 86 ids are in both). Each subset's sorted ids are its
# label order (CoOp enumerates the sorted folders of a complete copy).
_SUBSET_MEMBERSHIP = """
    n01443537:R  n01484850:R  n01494475:R  n01498041:AR n01514859:R  n01518878:R  n01531178:AR
    n01534433:AR n01558993:A  n01580077:A  n01614925:AR n01616318:AR n01630670:R  n01631663:A
    n01632777:R  n01641577:A  n01644373:R  n01669191:A  n01677366:AR n01687978:A  n01694178:AR
    n01698640:A  n01735189:A  n01748264:R  n01770081:A  n01770393:AR n01774750:AR n01784675:AR
    n01806143:R  n01819313:A  n01820546:AR n01833805:AR n01843383:AR n01847000:AR n01855672:AR
    n01860187:R  n01882714:AR n01910747:AR n01914609:A  n01924916:A  n01944390:AR n01983481:R
    n01985128:A  n01986214:AR n02007558:AR n02009912:AR n02037110:A  n02051845:AR n02056570:R
    n02066245:R  n02071294:R  n02077923:AR n02085620:AR n02086240:R  n02088094:R  n02088238:R
    n02088364:R  n02088466:R  n02091032:R  n02091134:R  n02092339:R  n02094433:R  n02096585:R
    n02097298:R  n02098286:R  n02099601:AR n02099712:R  n02102318:R  n02106030:R  n02106166:R
    n02106550:AR n02106662:AR n02108089:R  n02108915:R  n02109525:R  n02110185:R  n02110341:R
    n02110958:AR n02112018:R  n02112137:R  n02113023:R  n02113624:R  n02113799:R  n02114367:R
    n02117135:R  n02119022:AR n02123045:R  n02123394:A  n02127052:A  n02128385:R  n02128757:R
    n02129165:AR n02129604:R  n02130308:R  n02133161:A  n02134084:R  n02137549:A  n02138441:R
    n02165456:AR n02174001:A  n02177972:A  n02190166:AR n02206856:AR n02219486:AR n02226429:AR
    n02231487:A  n02233338:AR n02236044:AR n02259212:A  n02268443:AR n02279972:AR n02280649:A
    n02281787:A  n02317335:AR n02325366:AR n02346627:AR n02356798:AR n02361337:A  n02363005:R
    n02364673:R  n02391049:R  n02395406:R  n02398521:R  n02410509:AR n02423022:R  n02437616:R
    n02445715:AR n02447366:R  n02454379:A  n02480495:R  n02480855:R  n02481823:R  n02483362:R
    n02486410:AR n02492035:A  n02504458:A  n02510455:R  n02526121:R  n02607072:R  n02655020:AR
    n02669723:A  n02672831:AR n02676566:A  n02690373:A  n02701002:AR n02730930:A  n02749479:R
    n02769748:R  n02777292:A  n02782093:A  n02787622:A  n02793495:AR n02797295:AR n02802426:AR
    n02808440:R  n02814860:AR n02815834:A  n02823750:R  n02837789:A  n02841315:R  n02843684:R
    n02879718:A  n02883205:AR n02895154:A  n02906734:AR n02909870:R  n02939185:R  n02948072:AR
    n02950826:R  n02951358:AR n02966193:R  n02980441:AR n02992211:A  n02992529:R  n02999410:A
    n03014705:A  n03026506:A  n03124043:A  n03124170:R  n03125729:A  n03187595:A  n03196217:A
    n03223299:A  n03250847:A  n03255030:A  n03272010:R  n03291819:A  n03325584:A  n03345487:R
    n03355925:A  n03372029:R  n03384352:A  n03388043:A  n03417042:A  n03424325:R  n03443371:A
    n03444034:A  n03445924:A  n03452741:AR n03467068:R  n03481172:R  n03483316:A  n03494278:R
    n03495258:R  n03498962:R  n03584829:A  n03590841:A  n03594945:AR n03602883:R  n03617480:A
    n03630383:R  n03649909:R  n03666591:A  n03670208:A  n03676483:R  n03710193:R  n03717622:A
    n03720891:A  n03721384:A  n03724870:A  n03773504:R  n03775071:AR n03788195:A  n03804744:A
    n03837869:A  n03840681:A  n03854065:A  n03888257:AR n03891332:A  n03930630:R  n03935335:A
    n03947888:R  n03982430:A  n04019541:A  n04033901:A  n04039381:A  n04067472:A  n04086273:AR
    n04099969:A  n04118538:AR n04131690:A  n04133789:AR n04141076:AR n04146614:AR n04147183:AR
    n04179913:A  n04192698:R  n04208210:A  n04235860:A  n04252077:A  n04252225:A  n04254120:A
    n04254680:R  n04266014:R  n04270147:A  n04275548:AR n04310018:AR n04317175:A  n04325704:R
    n04344873:A  n04347754:AR n04355338:A  n04366367:A  n04376876:A  n04389033:AR n04399382:A
    n04409515:R  n04442312:A  n04456115:A  n04465501:R  n04482393:A  n04487394:R  n04507155:A
    n04509417:A  n04522168:R  n04532670:A  n04536866:R  n04540053:A  n04552348:R  n04554684:A
    n04562935:A  n04591713:AR n04606251:A  n07583066:A  n07614500:R  n07693725:R  n07695742:AR
    n07697313:AR n07697537:AR n07714571:R  n07714990:AR n07718472:AR n07720875:AR n07734744:AR
    n07742313:R  n07745940:R  n07749582:AR n07753275:R  n07753592:AR n07760859:A  n07768694:AR
    n07831146:A  n07873807:R  n07880968:R  n07920052:R  n09229709:A  n09246464:A  n09472597:AR
    n09835506:AR n10565667:R  n11879895:A  n12057211:A  n12144580:A  n12267677:AR
"""


def _subset_wnids(subset: str) -> tuple[str, ...]:
    """The sorted WordNet ids that `_SUBSET_MEMBERSHIP` marks with `subset` ("A" or "R")."""
    entries = (token.partition(":") for token in _SUBSET_MEMBERSHIP.split())
    return tuple(wnid for wnid, _, subsets in entries if subset in subsets)


IMAGENET_A_WNIDS: tuple[str, ...] = _subset_wnids("A")
IMAGENET_R_WNIDS: tuple[str, ...] = _subset_wnids("R")


def read_imagenet_classnames(path: str) -> dict[str, str]:
    """`{wnid: class name}` in file order from a `classnames.txt`; ValueError on a malformed line."""
    classnames: dict[str, str] = {}
    for number, line in enumerate(read_text_lines(path), start=1):
        wnid, _, name = line.partition(" ")
        if not name.strip():
            raise ValueError(
                f"{path} line {number} is {line!r}, expected '<wnid> <class name>'; download "
                "classnames.txt again (link in CoOp's DATASETS.md)"
            )
        classnames[wnid] = name.strip()
    return classnames


def find_classnames_file(location: DatasetLocation) -> str:
    """The dataset's own `classnames.txt`, else `imagenet/classnames.txt`; FileNotFoundError if neither."""
    candidates = [
        location.path(CLASSNAMES_FILE),
        os.path.join(location.root, IMAGENET_FOLDER, CLASSNAMES_FILE),
    ]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise location.missing(
        f"no class-name file: neither {candidates[0]} nor {candidates[1]} exists; download "
        f"{CLASSNAMES_FILE} (link in the ImageNet section of DATASETS.md) into one of them"
    )


def classnames_of(wnids: Sequence[str], classnames_path: str, *, image_dir: str) -> list[str]:
    """The name of each WordNet id in the `classnames.txt` at `classnames_path`.

    Raises ValueError naming the class folders of `image_dir` that the file does not list.
    """
    classnames = read_imagenet_classnames(classnames_path)
    unknown = [wnid for wnid in wnids if wnid not in classnames]
    if unknown:
        raise ValueError(
            f"{len(unknown)} class folder(s) of {image_dir} are not listed in {classnames_path}, e.g. "
            f"{unknown[:5]}; remove stray folders from {image_dir}, or download {CLASSNAMES_FILE} again"
        )
    return [classnames[wnid] for wnid in wnids]
