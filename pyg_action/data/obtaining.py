"""What a reading dataset expects under its ``root``: the error of a dataset without its files.

The library has no default data folder. A dataset whose ``root`` is not given or does not
exist stops with :func:`missing_data_error`, which says what the folder must hold and where
such files come from, so that a new user knows what to fetch and where to point ``root``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SkeletonDataError

#: For each dataset (as its errors name it): what its ``root`` must hold, and its origin.
EXPECTED_FILES: dict[str, str] = {
    "MSR Action3D": (
        "one folder of the 567 skeleton files aAA_sSS_eEE_skeleton3D.txt (AA action 01-20, SS "
        "subject 01-10, EE repetition; 20 lines 'x y z confidence' per frame), as distributed "
        "with the MSR Action3D dataset of Microsoft Research"
    ),
    "NTU RGB+D": (
        "a folder of raw SsssCcccPpppRrrrAaaa.skeleton files (setups s001-s017 for NTU-60, up "
        "to s032 for NTU-120), as the ROSE Lab of Nanyang Technological University gives them "
        "on request; a pyskl annotation pickle (ntu60_3danno.pkl) trains with data.name=pyskl "
        "and ST-GCN arrays (train_data.npy, train_label.pkl) with data.name=stgcn_arrays"
    ),
    "Kinetics-skeleton": (
        "a folder of per-video <video_id>.json files in st-gcn's Kinetics-skeleton format with "
        "kinetics_train_label.json and kinetics_val_label.json beside them (or set "
        "train_labels and val_labels), as released with st-gcn"
    ),
}


def missing_data_error(what: str, root: str | Path | None) -> SkeletonDataError:
    """The error of dataset ``what`` whose ``root`` is ``None`` or does not exist."""
    if root is None:
        where = "no root folder given"
    else:
        where = f"not found at {root} (resolved {Path(root).resolve()})"
    expected = EXPECTED_FILES.get(what)
    needs = f"; it needs {expected}" if expected else ""
    return SkeletonDataError(
        f"{what}: {where}; set the dataset's root (data.root, or --data) to the folder of its "
        f"files, or its cache to a prepared cache{needs}"
    )
