"""A corpus of hand-made hostile files: one case per way a file of each format can lie.

Where the fuzzer mutates valid files at random, each case here is written on purpose:
huge declared sizes in tiny files, non-finite and absurd values, labels beyond any class,
pickles that try to run commands or allocate without bound, zip bombs, links that lead
nowhere and tampered prepared caches. Everything is generated in memory (no stored
binaries); :func:`hostile_corpus` returns the cases and :func:`write_case_files` puts one
on disk.

Each :class:`HostileCase` says what the project's own error must say (``reason``, a
regular expression), what it must name besides the file (``where``: a line, frame or
sample) and, for a container with good samples beside the bad one, how many good samples
the reader must still return (``good``).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pyg_action.sequence import SkeletonSequence

from .mutations import Call, _shared_reference_bomb

#: Suffix -> the format a case of that suffix is read as.
CASE_FORMATS = {
    ".skeleton": "ntu",
    ".txt": "msr",
    ".json": "kinetics",
    ".npy": "stgcn",
    ".pkl": "pyskl",
    ".npz": "npz",
}


@dataclass(frozen=True)
class HostileCase:
    """One hostile input.

    Attributes:
        name: Unique case name (also its folder name on disk).
        files: Relative file name -> content; the first file is the one read. A name
            ``cache/...`` makes the case a prepared cache (the folder ``cache`` is read).
        reason: Regular expression the error's reason must match.
        where: ``"line"``, ``"frame"`` or ``"sample"``: what the error must name besides
            the file (``None``: the file alone).
        good: Good samples the reader must still return beside the error (containers).
    """

    name: str
    files: dict[str, bytes]
    reason: str
    where: str | None = None
    good: int = 0

    @property
    def is_cache(self) -> bool:
        return next(iter(self.files)).startswith("cache/")

    @property
    def format(self) -> str:
        return "cache" if self.is_cache else CASE_FORMATS[Path(next(iter(self.files))).suffix]


def write_case_files(case: HostileCase, folder: Path) -> Path:
    """Write ``case`` under ``folder``; returns the path that is read (a file or a cache)."""
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    first = folder / next(iter(case.files))
    return first.parent if case.is_cache else first


# ------------------------------------------------------------------ NTU

NTU_NAME = "S001C001P001R001A005.skeleton"
_BODY_INFO = "72057594037931101 0 1 1 1 1 0 0.02 0.3 2"


def _ntu_lines(frames: int = 3, value: float | None = None) -> list[str]:
    """A valid NTU file of ``frames`` frames with one moving body (every joint value
    ``value`` when given)."""
    lines = [str(frames)]
    for t in range(frames):
        lines += ["1", _BODY_INFO, "25"]
        for j in range(25):
            x, y, z = (value,) * 3 if value is not None else (0.1 * j, 0.05 * t - j * 0.01, 3.0)
            lines.append(f"{x} {y} {z} 250 200 900 500 0.1 0.2 0.3 0.9 2")
    return lines


def _ntu(lines: list[str], name: str = NTU_NAME) -> dict[str, bytes]:
    return {name: ("\r\n".join(lines) + "\r\n").encode()}


def _ntu_replace(token: str) -> dict[str, bytes]:
    """The first x of frame 0's joint 3 replaced by ``token`` (line 7)."""
    lines = _ntu_lines()
    parts = lines[6].split()
    parts[0] = token
    lines[6] = " ".join(parts)
    return _ntu(lines)


def _ntu_cases() -> list[HostileCase]:
    lines = _ntu_lines()
    four_million = b"4000000\r\n" + b"0\r\n" * 4_000_000  # 12 MB of empty frames
    cases = [
        HostileCase("ntu_4m_empty_frames", {NTU_NAME: four_million}, "beyond the 100000", "line"),
        HostileCase("ntu_frame_count_2e9", _ntu(["2000000000", *lines[1:]]), "beyond", "line"),
        HostileCase(
            "ntu_frame_count_5000_digits", _ntu(["9" * 5000, *lines[1:]]), "frame count", "line"
        ),
        HostileCase("ntu_frame_count_negative", _ntu(["-1", *lines[1:]]), "no frames", "line"),
        HostileCase("ntu_nan", _ntu_replace("nan"), "non-finite", "line"),
        HostileCase("ntu_inf", _ntu_replace("-inf"), "non-finite", "line"),
        HostileCase("ntu_beyond_float32", _ntu_replace("1e39"), "NaN or infinite", "frame"),
        HostileCase("ntu_joint_at_1e30", _ntu_replace("1e30"), "beyond", "frame"),
        HostileCase("ntu_joint_at_2e6", _ntu_replace("2e6"), "beyond", "frame"),
        HostileCase("ntu_not_a_number", _ntu_replace("abc"), "not a number", "line"),
        HostileCase(
            "ntu_short_joint_line", _ntu([*lines[:6], "1 2 3", *lines[7:]]), "values", "line"
        ),
        HostileCase("ntu_26_joints", _ntu([*lines[:3], "26", *lines[4:]]), "expected 25", "line"),
        HostileCase(
            "ntu_body_count_negative", _ntu([lines[0], "-1", *lines[2:]]), "body count", "line"
        ),
        HostileCase(
            "ntu_body_count_huge",
            _ntu([lines[0], "1000000000000", *lines[2:]]),
            "body information",
            "line",
        ),
        HostileCase(
            "ntu_body_info_short",
            _ntu([*lines[:2], "1 2 3", *lines[3:]]),
            "body information",
            "line",
        ),
        HostileCase("ntu_truncated", _ntu(lines[:40]), "truncated", "line"),
        HostileCase("ntu_trailing_content", _ntu([*lines, "1", "2"]), "after the last", "line"),
        HostileCase("ntu_all_zero_bodies", _ntu(_ntu_lines(value=0.0)), "no body"),
        HostileCase("ntu_action_000", _ntu(lines, "S001C001P001R001A000.skeleton"), "A000"),
        HostileCase("ntu_action_121", _ntu(lines, "S001C001P001R001A121.skeleton"), "A121"),
        HostileCase("ntu_binary", {NTU_NAME: bytes(range(256)) * 4}, "not a text file"),
        HostileCase("ntu_empty", {NTU_NAME: b""}, "empty"),
        HostileCase("ntu_white_space", {NTU_NAME: b" \r\n\t\r\n"}, "white space"),
        HostileCase(
            "ntu_utf16", {NTU_NAME: "\r\n".join(lines).encode("utf-16")}, "not a text file"
        ),
        HostileCase(
            "ntu_one_long_line", {NTU_NAME: b"1 " * 2_500_000}, "only the frame count", "line"
        ),
    ]
    return cases


# ------------------------------------------------------------------ MSR

MSR_NAME = "a01_s01_e01_skeleton3D.txt"


def _msr_lines(frames: int = 3) -> list[str]:
    return [f"{0.1 * j} {0.2 + 0.01 * t} {2.0} 1" for t in range(frames) for j in range(20)]


def _msr(lines: list[str], name: str = MSR_NAME) -> dict[str, bytes]:
    return {name: ("\n".join(lines) + "\n").encode()}


def _msr_replace(token: str, line: int = 25) -> dict[str, bytes]:
    lines = _msr_lines()
    lines[line - 1] = f"{token} 0.5 2.0 1"
    return _msr(lines)


def _msr_cases() -> list[HostileCase]:
    lines = _msr_lines()
    return [
        HostileCase("msr_action_99", _msr(lines, "a99_s01_e01_skeleton3D.txt"), "a99"),
        HostileCase("msr_action_00", _msr(lines, "a00_s01_e01_skeleton3D.txt"), "a00"),
        HostileCase("msr_nan", _msr_replace("nan"), "non-finite", "line"),
        HostileCase("msr_inf", _msr_replace("inf"), "non-finite", "line"),
        HostileCase("msr_400_nines", _msr_replace("9" * 400), "non-finite", "line"),
        HostileCase("msr_joint_at_1e30", _msr_replace("1e30"), "beyond", "frame"),
        HostileCase("msr_beyond_float32", _msr_replace("1e39"), "NaN or infinite", "frame"),
        HostileCase("msr_not_a_number", _msr_replace("abc"), "not a number", "line"),
        HostileCase(
            "msr_three_values", _msr([*lines[:9], "1 2 3", *lines[10:]]), "expected 4", "line"
        ),
        HostileCase("msr_19_lines", _msr(lines[:19]), "not a multiple of 20", "line"),
        HostileCase("msr_all_zero", _msr(["0 0 0 1"] * 40), "all coordinates are zero"),
        HostileCase("msr_binary", {MSR_NAME: b"\xff\xfe\x00" * 100}, "not a text file"),
        HostileCase("msr_empty", {MSR_NAME: b""}, "empty"),
        HostileCase("msr_beyond_the_frame_cap", {MSR_NAME: b"0 0 0 1\n" * 2_000_001}, "more than"),
    ]


# ------------------------------------------------------------------ Kinetics

KINETICS_NAME = "clip.json"


def _kinetics_content(frames: int = 3) -> dict[str, Any]:
    data = [
        {
            "frame_index": t + 1,
            "skeleton": [
                {"pose": [0.3 + 0.01 * i + 0.02 * t for i in range(36)], "score": [0.9] * 18}
            ],
        }
        for t in range(frames)
    ]
    return {"data": data, "label": "jogging", "label_index": 3}


def _kinetics(content: Any = None, text: str | None = None) -> dict[str, bytes]:
    return {KINETICS_NAME: (text if text is not None else json.dumps(content)).encode()}


def _kinetics_with(change: Callable[[dict[str, Any]], Any]) -> dict[str, bytes]:
    content = _kinetics_content()
    change(content)
    return _kinetics(content)


def _pose(value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda c: c["data"][1]["skeleton"][0]["pose"].__setitem__(4, value)


def _kinetics_cases() -> list[HostileCase]:
    valid = json.dumps(_kinetics_content())
    label = '"label_index": 3'

    def frame_index(value: Any) -> Callable[[dict[str, Any]], Any]:
        return lambda c: c["data"][2].__setitem__("frame_index", value)

    return [
        HostileCase(
            "kinetics_label_1e30",
            _kinetics(text=valid.replace(label, '"label_index": 1e30')),
            "not an integer",
        ),
        HostileCase(
            "kinetics_label_10e30",
            _kinetics_with(lambda c: c.__setitem__("label_index", 10**30)),
            "outside 0..9999",
        ),
        HostileCase(
            "kinetics_label_string",
            _kinetics_with(lambda c: c.__setitem__("label_index", "7")),
            "not an integer",
        ),
        HostileCase(
            "kinetics_label_true",
            _kinetics_with(lambda c: c.__setitem__("label_index", True)),
            "not an integer",
        ),
        HostileCase(
            "kinetics_frame_index_1e9", _kinetics_with(frame_index(10**9)), "max_frames", "frame"
        ),
        HostileCase(
            "kinetics_frame_index_10e30", _kinetics_with(frame_index(10**30)), "max_frames", "frame"
        ),
        HostileCase(
            "kinetics_frame_index_negative", _kinetics_with(frame_index(-4)), "frame_index must be"
        ),
        HostileCase(
            "kinetics_frame_index_twice", _kinetics_with(frame_index(2)), "appears twice", "frame"
        ),
        HostileCase(
            "kinetics_pose_short",
            _kinetics_with(lambda c: c["data"][1]["skeleton"][0].__setitem__("pose", [0.5] * 30)),
            "list of 36",
            "frame",
        ),
        HostileCase(
            "kinetics_pose_nan", _kinetics_with(_pose(float("nan"))), "non-finite", "frame"
        ),
        HostileCase(
            "kinetics_pose_infinity", _kinetics_with(_pose(float("inf"))), "non-finite", "frame"
        ),
        HostileCase("kinetics_pose_1e30", _kinetics_with(_pose(1e30)), "beyond", "frame"),
        HostileCase(
            "kinetics_pose_huge_int", _kinetics_with(_pose(10**400)), "non-finite", "frame"
        ),
        HostileCase("kinetics_pose_string", _kinetics_with(_pose("0.5")), "non-number", "frame"),
        HostileCase(
            "kinetics_5000_digits",
            _kinetics(text=valid.replace(label, '"label_index": ' + "9" * 5000)),
            "invalid JSON",
        ),
        HostileCase(
            "kinetics_deep_nesting",
            _kinetics(text="[" * 100_000 + "]" * 100_000),
            "nested too deeply",
        ),
        HostileCase("kinetics_top_level_list", _kinetics([1, 2]), "top level"),
        HostileCase("kinetics_no_data", _kinetics({"label_index": 1}), "no 'data'"),
        HostileCase("kinetics_no_frames", _kinetics({"data": []}), "no frames"),
        HostileCase(
            "kinetics_label_file",
            _kinetics({"vid": {"label": "x", "label_index": 1}}),
            "label file",
        ),
        HostileCase(
            "kinetics_invalid_json",
            _kinetics(text=valid.replace(":", "=", 1)),
            "invalid JSON",
            "line",
        ),
        HostileCase(
            "kinetics_truncated_json",
            _kinetics(text=valid[: len(valid) // 2]),
            "truncated JSON",
            "line",
        ),
        HostileCase(
            "kinetics_no_person",
            _kinetics_with(lambda c: [f.__setitem__("skeleton", []) for f in c["data"]]),
            "no person",
        ),
        HostileCase(
            "kinetics_all_zero",
            _kinetics_with(
                lambda c: [
                    s.update(pose=[0] * 36, score=[0] * 18)
                    for f in c["data"]
                    for s in f["skeleton"]
                ]
            ),
            "all coordinates are zero",
        ),
        HostileCase(
            "kinetics_skeleton_not_list",
            _kinetics_with(lambda c: c["data"][0].__setitem__("skeleton", 5)),
            "must be a list",
            "frame",
        ),
        HostileCase("kinetics_binary", {KINETICS_NAME: b"\x00\x9f" * 64}, "not a text file"),
    ]


# ------------------------------------------------------------------ ST-GCN arrays

STGCN_NAMES = [f"S001C001P001R001A00{i + 1}" for i in range(3)]


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=True)
    return out.getvalue()


def _stgcn_data(bad: float | None = None) -> np.ndarray:
    """Three samples ``(3, 3, 20, 25, 2)``; sample 1's frame 4 holds ``bad`` when given."""
    data = np.zeros((3, 3, 20, 25, 2), np.float32)
    for i in range(3):
        data[i, :, : 10 + 3 * i, :, 0] = np.linspace(0.1, 1.0, 3 * (10 + 3 * i) * 25).reshape(
            3, 10 + 3 * i, 25
        )
    if bad is not None:
        data[1, 0, 4, 3, 0] = bad
    return data


def _stgcn(
    data: np.ndarray | bytes | None = None, labels: Any = (0, 1, 2), names: Any = None
) -> dict[str, bytes]:
    raw = data if isinstance(data, bytes) else _npy(_stgcn_data() if data is None else data)
    label_content = (STGCN_NAMES if names is None else names, list(labels))
    return {"train_data.npy": raw, "train_label.pkl": pickle.dumps(label_content, protocol=4)}


def _npy_with_header(shape: str, descr: str, payload: bytes) -> bytes:
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + payload


def _stgcn_cases(marker: Path) -> list[HostileCase]:
    valid = _npy(_stgcn_data())
    zero = _stgcn_data()
    zero[2] = 0
    run_command = pickle.dumps(Call(os.system, f"touch {marker}"), protocol=2)
    return [
        HostileCase(
            "stgcn_header_lies",
            _stgcn(_npy_with_header("(1000000000000, 3, 300, 25, 2)", "'<f4'", valid[128:])),
            "declares",
        ),
        HostileCase(
            "stgcn_object_array",
            _stgcn(_npy(np.array([[[[[{"a": 1}]]]]], dtype=object))),
            "objects|declares",
        ),
        HostileCase("stgcn_complex", _stgcn(_stgcn_data().astype(np.complex64)), "real-valued"),
        HostileCase("stgcn_four_dims", _stgcn(_stgcn_data()[0]), r"\(N, C, T, V, M\)"),
        HostileCase("stgcn_truncated", _stgcn(valid[: len(valid) // 2]), "truncated"),
        HostileCase("stgcn_no_header", _stgcn(b"just some bytes" * 10), "no NumPy header"),
        HostileCase(
            "stgcn_label_runs_a_command",
            {"train_data.npy": valid, "train_label.pkl": run_command},
            "refused global",
        ),
        HostileCase(
            "stgcn_label_10e30", _stgcn(labels=(0, 10**30, 2)), "outside 0..9999", "sample", good=2
        ),
        HostileCase("stgcn_label_negative", _stgcn(labels=(0, -5, 2)), "outside", "sample", good=2),
        HostileCase(
            "stgcn_names_mismatch", _stgcn(names=STGCN_NAMES[:2], labels=(0, 1)), "lists 2 samples"
        ),
        HostileCase("stgcn_nan_sample", _stgcn(_stgcn_data(float("nan"))), "NaN", "sample", good=2),
        HostileCase("stgcn_1e30_sample", _stgcn(_stgcn_data(1e30)), "beyond", "sample", good=2),
        HostileCase(
            "stgcn_zero_sample", _stgcn(zero), "all coordinates are zero", "sample", good=2
        ),
    ]


# ------------------------------------------------------------------ pyskl annotations

PYSKL_NAME = "ann.pkl"


def _annotation(index: int, **changes: Any) -> dict[str, Any]:
    keypoint = np.linspace(1.0, 2.0, 8 * 17 * 2, dtype=np.float32).reshape(1, 8, 17, 2)
    annotation = {
        "frame_dir": f"clip{index}",
        "label": index,
        "keypoint": keypoint + index,
        "keypoint_score": np.full((1, 8, 17), 0.9, np.float32),
        "total_frames": 8,
        "img_shape": (480, 640),
    }
    annotation.update(changes)
    return annotation


def _pyskl(content: Any = None, raw: bytes | None = None, protocol: int = 4) -> dict[str, bytes]:
    return {PYSKL_NAME: raw if raw is not None else pickle.dumps(content, protocol=protocol)}


def _pyskl_bad(**changes: Any) -> dict[str, bytes]:
    """Two annotations, the second changed: one good sample and one bad."""
    return _pyskl({"annotations": [_annotation(0), _annotation(1, **changes)]})


def _pyskl_cases(marker: Path) -> list[HostileCase]:
    from numpy._core.multiarray import _reconstruct

    nan = _annotation(1)["keypoint"].copy()
    nan[0, 3] = np.nan
    big = _annotation(1)["keypoint"].copy()
    big[0, 5, 2, 1] = 1e30
    valid = pickle.dumps({"annotations": [_annotation(0)]}, protocol=4)
    huge_array = pickle.dumps(Call(np.ndarray, (1, 10000, 25, 3000)), protocol=2)
    return [
        HostileCase(
            "pyskl_runs_os_system", _pyskl(Call(os.system, f"touch {marker}")), "refused global"
        ),
        HostileCase(
            "pyskl_runs_popen",
            _pyskl(Call(subprocess.Popen, ["touch", str(marker)])),
            "refused global",
        ),
        HostileCase(
            "pyskl_runs_eval", _pyskl(Call(eval, f"open({str(marker)!r}, 'w')")), "refused global"
        ),
        HostileCase("pyskl_120_bytes_4_gb_array", _pyskl(raw=huge_array), "refused call"),
        HostileCase(
            "pyskl_reconstruct_huge",
            _pyskl(Call(_reconstruct, np.ndarray, (10**10,), b"b")),
            "refused call",
        ),
        HostileCase("pyskl_bytes_of_a_count", _pyskl(Call(bytes, 10**10)), "refused call"),
        HostileCase(
            "pyskl_bytearray8_lies",
            _pyskl(raw=b"\x80\x05\x96" + (2**62).to_bytes(8, "little") + b"abc."),
            "bytearray8",
        ),
        HostileCase(
            "pyskl_memo_index_huge", _pyskl(raw=b"\x80\x04K\x01r\xff\xff\xff\x7f."), "memo index"
        ),
        HostileCase(
            "pyskl_object_array",
            _pyskl_bad(keypoint=np.ones((1, 8, 17, 2), object)),
            "object dtype",
        ),
        HostileCase(
            "pyskl_label_10e30", _pyskl_bad(label=10**30), "outside 0..9999", "sample", good=1
        ),
        HostileCase("pyskl_label_negative", _pyskl_bad(label=-3), "outside", "sample", good=1),
        HostileCase("pyskl_label_text", _pyskl_bad(label="7"), "not an integer", "sample", good=1),
        HostileCase("pyskl_keypoint_nan", _pyskl_bad(keypoint=nan), "NaN", "sample", good=1),
        HostileCase("pyskl_keypoint_1e30", _pyskl_bad(keypoint=big), "beyond", "sample", good=1),
        HostileCase(
            "pyskl_keypoint_3d",
            _pyskl_bad(keypoint=np.ones((8, 17, 2))),
            "M, T, V, C",
            "sample",
            good=1,
        ),
        HostileCase(
            "pyskl_keypoint_complex",
            _pyskl_bad(keypoint=np.ones((1, 8, 17, 2), np.complex64)),
            "dtype",
            "sample",
            good=1,
        ),
        HostileCase(
            "pyskl_score_shape",
            _pyskl_bad(keypoint_score=np.ones((1, 7, 17))),
            "keypoint_score",
            "sample",
            good=1,
        ),
        HostileCase(
            "pyskl_total_frames", _pyskl_bad(total_frames=10**12), "total_frames", "sample", good=1
        ),
        HostileCase(
            "pyskl_img_shape_bomb",
            _pyskl_bad(img_shape=_shared_reference_bomb()),
            "img_shape",
            "sample",
            good=1,
        ),
        HostileCase(
            "pyskl_keypoint_bomb",
            _pyskl_bad(keypoint=_shared_reference_bomb()),
            "M, T, V, C",
            "sample",
            good=1,
        ),
        HostileCase(
            "pyskl_deep_nesting",
            _pyskl(raw=b"(" * 100_000 + b"l" * 100_000 + b"."),
            "not a dict",
            "sample",
        ),
        HostileCase("pyskl_annotations_not_a_list", _pyskl({"annotations": 5}), "annotations"),
        HostileCase("pyskl_truncated", _pyskl(raw=valid[: len(valid) // 2]), "cannot unpickle"),
        HostileCase(
            "pyskl_garbage", _pyskl(raw=b"\x80\x04not a pickle at all" * 3), "cannot unpickle"
        ),
        HostileCase("pyskl_persistent_id", _pyskl(raw=b"\x80\x04K\x01Q."), "persistent"),
        HostileCase("pyskl_empty", _pyskl(raw=b""), "empty"),
    ]


# ------------------------------------------------------------------ npz


NPZ_NAME = "set.npz"


def _npz(arrays: dict[str, np.ndarray | bytes]) -> dict[str, bytes]:
    """An npz archive of ``.npy`` members (``bytes`` values are stored as they are)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for key, value in arrays.items():
            archive.writestr(f"{key}.npy", value if isinstance(value, bytes) else _npy(value))
    return {NPZ_NAME: out.getvalue()}


def _npz_samples(bad: np.ndarray | None = None, **extra: np.ndarray) -> dict[str, bytes]:
    """``sample_0`` good and ``sample_1`` = ``bad`` (a good one when ``None``), layout ntu25."""
    good = np.linspace(0.1, 1.0, 3 * 6 * 25, dtype=np.float32).reshape(3, 6, 25, 1)
    arrays: dict[str, np.ndarray | bytes] = {
        "sample_0": good,
        "sample_1": good + 1 if bad is None else bad,
        "layout": np.asarray("ntu25"),
        "names": np.asarray(["s0", "s1"]),
    }
    arrays.update(extra)
    return _npz(arrays)


def _zip_bomb() -> dict[str, bytes]:
    """An 800 kB archive whose member unpacks to 192 MiB of zeros (streamed, never held)."""
    out = io.BytesIO()
    header = _npy_with_header("(3, 1048576, 16, 1)", "'<f4'", b"")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("sample_0.npy", "w", force_zip64=True) as member:
            member.write(header)
            chunk = bytes(1 << 22)
            for _ in range(48):
                member.write(chunk)
    return {NPZ_NAME: out.getvalue()}


def _npz_cases(marker: Path) -> list[HostileCase]:
    good = np.linspace(0.1, 1.0, 3 * 6 * 25, dtype=np.float32).reshape(3, 6, 25, 1)
    nan = good.copy()
    nan[:, 2:4] = np.nan
    big = good.copy()
    big[1, 3, 7, 0] = 1e30
    command = _npy(np.array([Call(os.system, f"touch {marker}")], dtype=object))
    lie = _npy_with_header("(1000000, 3, 300, 25)", "'<f4'", good.tobytes())
    valid = _npz_samples()[NPZ_NAME]
    return [
        HostileCase("npz_zip_bomb", _zip_bomb(), "zip bomb"),
        HostileCase("npz_header_lies", _npz({"sample_0": lie}), "declares"),
        HostileCase(
            "npz_object_member_runs_a_command",
            _npz({"sample_0": command}),
            "objects|declares|unreadable",
        ),
        HostileCase("npz_joint_at_1e30", _npz_samples(big), "beyond", "sample", good=1),
        HostileCase("npz_nan_frames", _npz_samples(nan), "NaN", "sample", good=1),
        HostileCase(
            "npz_all_zero_sample",
            _npz_samples(np.zeros_like(good)),
            "all coordinates are zero",
            "sample",
            good=1,
        ),
        HostileCase(
            "npz_label_beyond_class_names",
            _npz_samples(labels=np.array([0, 9]), class_names=np.array(["a", "b"])),
            "outside 0..1",
            "sample",
            good=1,
        ),
        HostileCase(
            "npz_label_negative",
            _npz_samples(labels=np.array([0, -7])),
            "outside",
            "sample",
            good=1,
        ),
        HostileCase(
            "npz_label_huge",
            _npz_samples(labels=np.array([0, 2**62])),
            "outside 0..9999",
            "sample",
            good=1,
        ),
        HostileCase(
            "npz_frames_beyond_the_cap",
            _npz_samples(np.ones((1, 100_001, 25, 1), np.float32)),
            "more than the 100000",
            "sample",
            good=1,
        ),
        HostileCase(
            "npz_text_sample", _npz_samples(np.array([[[["x"]]]])), "dtype", "sample", good=1
        ),
        HostileCase("npz_key_gap", _npz({"sample_0": good, "sample_5": good}), "without gaps"),
        HostileCase(
            "npz_length_beyond",
            _npz({"data": good[None], "lengths": np.array([60])}),
            "length 60",
            "sample",
        ),
        HostileCase("npz_no_samples", _npz({"labels": np.array([1])}), "no sample data"),
        HostileCase(
            "npz_not_a_zip", {NPZ_NAME: b"PK\x03\x04 but nothing else"}, "not a readable .npz"
        ),
        HostileCase("npz_truncated", {NPZ_NAME: valid[: len(valid) // 2]}, "not a readable .npz"),
        HostileCase("npz_data_three_dims", _npz({"data": good[0]}), r"\(N, C, T, V, M\)"),
    ]


# ------------------------------------------------------------------ prepared caches


def _cache_files() -> dict[str, bytes]:
    """The files of a valid prepared cache of two ntu25 samples."""
    import tempfile

    from pyg_action.data.prepared import write_cache

    good = np.linspace(0.1, 1.0, 3 * 6 * 25, dtype=np.float32).reshape(3, 6, 25, 1)
    samples = [
        SkeletonSequence(good, 0, "ntu25", "s0"),
        SkeletonSequence(good + 1, 1, "ntu25", "s1"),
    ]
    with tempfile.TemporaryDirectory() as folder:
        write_cache(samples, folder)
        return {f"cache/{p.name}": p.read_bytes() for p in sorted(Path(folder).iterdir())}


def _tampered(**changes: bytes) -> dict[str, bytes]:
    files = _cache_files()
    files = {"cache/index.json": files.pop("cache/index.json"), **files}  # read first
    for name, content in changes.items():
        files[f"cache/{name}"] = content
    return files


def _frames_with(value: float) -> bytes:
    frames = np.load(io.BytesIO(_cache_files()["cache/frames.npy"]))
    frames[8, 3, 1] = value  # sample s1 (rows 6..11)
    return _npy(frames)


def _cache_cases() -> list[HostileCase]:
    files = _cache_files()
    index = json.loads(files["cache/index.json"])
    frames = files["cache/frames.npy"]

    def index_with(**changes: Any) -> bytes:
        return json.dumps({**index, **changes}).encode()

    return [
        HostileCase(
            "cache_index_garbage", _tampered(**{"index.json": b"{not json"}), "not valid JSON"
        ),
        HostileCase(
            "cache_index_a_list", _tampered(**{"index.json": b"[1, 2]"}), "not a JSON object"
        ),
        HostileCase(
            "cache_names_not_a_list", _tampered(**{"index.json": index_with(names="s0")}), "'names'"
        ),
        HostileCase(
            "cache_joints_a_string",
            _tampered(**{"index.json": index_with(num_joints="25")}),
            "'num_joints'",
        ),
        HostileCase(
            "cache_version_99", _tampered(**{"index.json": index_with(version=99)}), "version"
        ),
        HostileCase(
            "cache_offsets_lie", _tampered(**{"offsets.npy": _npy(np.array([0, 6, 9]))}), "disagree"
        ),
        HostileCase(
            "cache_shapes_negative",
            _tampered(**{"shapes.npy": _npy(np.array([[6, 1, 3], [-6, -1, 3]]))}),
            "disagree",
        ),
        HostileCase(
            "cache_labels_huge",
            _tampered(**{"labels.npy": _npy(np.array([0, 10**15]))}),
            "labels outside",
        ),
        HostileCase(
            "cache_offsets_object_array",
            _tampered(**{"offsets.npy": _npy(np.array([0, 6, 12], dtype=object))}),
            "integers|readable",
        ),
        HostileCase(
            "cache_labels_header_lies",
            _tampered(**{"labels.npy": _npy_with_header("(10000000000,)", "'<i8'", b"\x00" * 16)}),
            "integers",
        ),
        HostileCase(
            "cache_frames_header_mismatch",
            _tampered(**{"frames.npy": _npy(np.zeros((12, 20, 3), np.float32))}),
            "index describes",
        ),
        HostileCase(
            "cache_frames_truncated",
            _tampered(**{"frames.npy": frames[: len(frames) // 2]}),
            "truncated",
        ),
        HostileCase(
            "cache_frames_nan",
            _tampered(**{"frames.npy": _frames_with(np.nan)}),
            "NaN",
            "sample",
            good=1,
        ),
        HostileCase(
            "cache_frames_1e30",
            _tampered(**{"frames.npy": _frames_with(1e30)}),
            "beyond",
            "sample",
            good=1,
        ),
        HostileCase(
            "cache_report_garbage", _tampered(**{"report.json": b"\xff garbage"}), "not valid JSON"
        ),
    ]


def _error_problem(
    error: Exception, case: HostileCase, files: set[Path], *, per_sample: bool
) -> str | None:
    """What is wrong with an error a reader gave for ``case`` (``None``: nothing)."""
    from pyg_action.errors import SkeletonDataError

    if not isinstance(error, SkeletonDataError):
        return f"{type(error).__name__} instead of SkeletonDataError: {error}"
    if error.path is None or not any(
        error.path == f or f.is_relative_to(error.path) for f in files
    ):
        return f"the error does not name the file: {error}"
    if str(error.path) not in str(error):
        return f"the message does not show the file: {error}"
    if not re.search(case.reason, error.reason):
        return f"reason {error.reason!r} does not match {case.reason!r}"
    where = "sample" if per_sample else case.where
    if where is not None and getattr(error, where) is None:
        return f"the error does not name the {where}: {error}"
    return None


def judge_case(case: HostileCase, folder: Path) -> str | None:
    """Write ``case`` into ``folder``, read it as the project does and say what went wrong
    (``None`` when the reader ended in its own error naming the file, and the line, frame or
    sample where there is one, and kept the good samples beside it)."""
    from pyg_action.data.prepared import PreparedCache
    from pyg_action.io import read_samples

    target = write_case_files(case, folder)
    files = {folder / name for name in case.files}
    good, errors = 0, []
    try:
        if case.is_cache:
            cache = PreparedCache(target)
            for index in range(len(cache)):
                try:
                    cache.array(index)
                    good += 1
                except Exception as exc:  # noqa: BLE001 - judged below
                    errors.append(exc)
        else:
            result = read_samples(target, CASE_FORMATS[target.suffix])
            good, errors = len(result.samples), list(result.errors)
    except Exception as exc:  # noqa: BLE001 - judged here: the whole file was refused
        if case.good:
            return f"the whole file was refused, {case.good} good sample(s) lost: {exc}"
        return _error_problem(exc, case, files, per_sample=False)
    if good != case.good:
        return f"{good} good samples, expected {case.good}"
    if len(errors) != 1:
        return f"{len(errors)} per-sample errors, expected 1: {errors}"
    return _error_problem(errors[0], case, files, per_sample=True)


#: A good file of each format that :func:`check_prepare` puts beside the hostile ones.
_GOOD_FILES: dict[str, Callable[[], dict[str, bytes]]] = {
    "ntu": lambda: _ntu(_ntu_lines(), "S002C001P001R001A001.skeleton"),
    "msr": lambda: _msr(_msr_lines(), "a02_s01_e01_skeleton3D.txt"),
    "kinetics": lambda: {"good.json": json.dumps(_kinetics_content()).encode()},
    "npz": lambda: {"good.npz": _npz_samples()[NPZ_NAME]},
}


def _special_entries(folder: Path, suffix: str) -> list[Path]:
    """A dangling link, a link loop and a fifo named like samples (never to be opened)."""
    dangling, loop, fifo = (folder / f"{name}{suffix}" for name in ("dangling", "loop", "fifo"))
    dangling.symlink_to(folder / f"missing{suffix}")
    loop.symlink_to(loop)
    os.mkfifo(fifo)
    return [dangling, loop, fifo]


def check_prepare(cases: list[HostileCase], folder: Path) -> list[str]:
    """``prepare`` every format's hostile files together with good ones and links that lead
    nowhere; returns the problems: a good sample lost, or an entry neither kept nor listed.

    The folder formats (NTU, MSR, Kinetics, npz) are prepared one folder each; ST-GCN and
    pyskl containers one file each (a folder holds them unread).
    """
    from pyg_action.data.prepared import prepare
    from pyg_action.errors import SkeletonDataError

    problems = []
    for fmt, good_files in _GOOD_FILES.items():
        source = folder / f"prepare_{fmt}"
        expected = 0
        entries = []
        for case in (c for c in cases if c.format == fmt):
            entries.append(write_case_files(case, source / case.name))
            expected += case.good
        good = good_files()
        for name, content in good.items():
            (source / name).write_bytes(content)
        expected += 2 if fmt == "npz" else 1
        entries += _special_entries(source, Path(next(iter(good))).suffix)
        try:
            report = prepare(source, folder / f"cache_{fmt}", fmt, progress=False)
        except SkeletonDataError as exc:
            problems.append(f"prepare {fmt}: {exc}")
            continue
        listed = {Path(file) for file, _ in report["bad_files"]}
        problems += [
            f"prepare {fmt}: {entry} is not listed" for entry in entries if entry not in listed
        ]
        problems += [
            f"prepare {fmt}: {file}: {reason}"
            for file, reason in report["bad_files"]
            if "internal" in reason
        ]
        if report["good"] != expected:
            problems.append(f"prepare {fmt}: {report['good']} good samples, expected {expected}")
    for case in (c for c in cases if c.format in ("stgcn", "pyskl")):
        target = write_case_files(case, folder / f"prepare_{case.name}")
        out = target.parent / "cache"
        try:
            report = prepare(target, out, case.format, progress=False)
        except SkeletonDataError:
            report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        files = {Path(file) for file, _ in report["bad_files"]}
        if report["good"] != case.good or not files & {target.parent / n for n in case.files}:
            problems.append(f"prepare {case.name}: {report}")
    return problems


def hostile_corpus(marker: Path) -> list[HostileCase]:
    """Every hostile case, across all formats and the prepared cache.

    Args:
        marker: A path that the cases trying to run a command would create (``touch``); it
            must not exist after reading them.
    """
    cases = [
        *_ntu_cases(),
        *_msr_cases(),
        *_kinetics_cases(),
        *_stgcn_cases(marker),
        *_pyskl_cases(marker),
        *_npz_cases(marker),
        *_cache_cases(),
    ]
    names = [case.name for case in cases]
    if len(set(names)) != len(names):  # pragma: no cover - a mistake in this module
        raise AssertionError("case names must be unique")
    return cases


__all__ = [
    "CASE_FORMATS",
    "HostileCase",
    "check_prepare",
    "hostile_corpus",
    "judge_case",
    "write_case_files",
]
