"""The restricted unpickler: plain data and numpy arrays load, anything else is refused unrun."""

from __future__ import annotations

import builtins
import collections
import os
import pickle
import subprocess

import numpy as np
import pytest

from pyg_action.errors import SkeletonDataError
from pyg_action.io import RestrictedUnpickler, allowed_globals, safe_load_pickle, safe_loads

PLAIN = {
    "names": ["S001C001P001R001A001", "S001C001P001R001A002"],
    "labels": [0, 1],
    "nested": ({"a": (1, 2.5, None, True)}, [b"bytes", "text"]),
    "set": {1, 2},
    "frozen": frozenset({"x"}),
    "complex": 1 + 2j,
    "ordered": collections.OrderedDict(a=1),
    "f32": np.arange(12, dtype=np.float32).reshape(3, 4),
    "f16": np.ones((2, 2), np.float16),
    "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "ints": np.arange(5, dtype=np.int64),
    "text_array": np.array(["a", "bc"]),
    "scalar": np.int64(7),
    "float_scalar": np.float32(0.5),
    "empty": np.zeros((0, 3)),
}


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_data_and_numpy_arrays_round_trip(protocol):
    assert _same(PLAIN, safe_loads(pickle.dumps(PLAIN, protocol=protocol)))


def test_label_pickle_file(tmp_path):
    path = tmp_path / "train_label.pkl"
    path.write_bytes(pickle.dumps((["a", "b"], [3, 4])))
    assert safe_load_pickle(path) == (["a", "b"], [3, 4])


class _RunsCode:
    """Unpickling this would call ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _attack(tmp_path):
    marker = tmp_path / "pwned"
    shell = f"touch {marker}"
    return marker, [
        ("system", _RunsCode(os.system, shell)),
        ("eval", _RunsCode(builtins.eval, f"open({str(marker)!r}, 'w').close()")),
        ("exec", _RunsCode(builtins.exec, f"open({str(marker)!r}, 'w').close()")),
        ("Popen", _RunsCode(subprocess.Popen, ["touch", str(marker)])),
        ("check_call", _RunsCode(subprocess.check_call, ["touch", str(marker)])),
        ("__import__", _RunsCode(builtins.__import__, "os")),
        ("load", _RunsCode(np.load, str(marker))),
    ]


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_code_running_pickles_are_refused_and_never_run(tmp_path, protocol):
    marker, attacks = _attack(tmp_path)
    for global_name, payload in attacks:
        path = tmp_path / f"evil_{global_name}.pkl"
        # hide the payload inside ordinary-looking label data
        path.write_bytes(pickle.dumps((["sample"], [payload]), protocol=protocol))
        with pytest.raises(SkeletonDataError) as info:
            safe_load_pickle(path)
        assert "refused global" in info.value.reason
        assert global_name in info.value.reason
        assert info.value.path == path
        assert str(path) in str(info.value)
        assert not marker.exists(), f"{global_name} ran"


def test_sanity_the_attack_does_run_with_plain_pickle(tmp_path):
    marker, attacks = _attack(tmp_path)
    pickle.loads(pickle.dumps(dict(attacks)["system"]))  # noqa: S301 - shows the danger
    assert marker.exists()


@pytest.mark.parametrize(
    "module, name",
    [("os", "system"), ("builtins", "getattr"), ("__builtin__", "eval"), ("posix", "system"),
     ("numpy", "load"), ("numpy.testing._private.utils", "runstring"), ("torch", "load")],
)  # fmt: skip
def test_hand_written_global_opcodes_are_refused(module, name):
    data = f"c{module}\n{name}\n(S'echo hi'\ntR.".encode()
    with pytest.raises(SkeletonDataError, match=f"refused global {module}.{name}"):
        safe_loads(data, path="hand.pkl")


def test_persistent_ids_are_refused():
    data = b"\x80\x02Pabc\n."  # PERSID opcode
    with pytest.raises(SkeletonDataError, match="persistent"):
        safe_loads(data)


def test_truncated_and_garbled_pickles(tmp_path):
    data = pickle.dumps(PLAIN, protocol=4)
    with pytest.raises(SkeletonDataError, match="truncated|corrupt"):
        safe_loads(data[: len(data) // 2], path=tmp_path / "cut.pkl")
    with pytest.raises(SkeletonDataError, match="cannot unpickle"):
        safe_loads(b"this is not a pickle at all", path=tmp_path / "text.pkl")
    with pytest.raises(SkeletonDataError, match="does not exist"):
        safe_load_pickle(tmp_path / "none.pkl")
    (tmp_path / "empty.pkl").write_bytes(b"")
    with pytest.raises(SkeletonDataError, match="empty"):
        safe_load_pickle(tmp_path / "empty.pkl")


def test_unpickler_class_and_allow_list():
    import io

    unpickler = RestrictedUnpickler(io.BytesIO(pickle.dumps([1])), path="x.pkl")
    assert isinstance(unpickler, pickle.Unpickler)
    assert unpickler.load() == [1]
    allowed = allowed_globals()
    assert "numpy._core.multiarray._reconstruct" in allowed
    assert "numpy.core.multiarray._reconstruct" in allowed
    assert not any(name.split(".")[-1] in {"eval", "exec", "system", "getattr"} for name in allowed)


class _Calls:
    """Unpickling this calls ``func(*args)`` with an allowed global."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def _hostile_calls():
    from numpy._core.multiarray import _reconstruct

    return [
        _Calls(bytes, 10**10),
        _Calls(bytearray, 10**10),
        _Calls(set, range(10**12)),
        _Calls(frozenset, range(10**12)),
        _Calls(bytes, range(10**12)),
        _Calls(collections.OrderedDict, range(10**12)),
        _Calls(_reconstruct, np.ndarray, (10**10,), b"b"),
        _Calls(np.ndarray, (1, 10000, 25, 3000)),
        _Calls(np.ndarray, (10**9,), "f8", b"12345678", 0, (0,)),
        _Calls(__import__("codecs").encode, "x" * 1000, "punycode"),
    ]


@pytest.mark.parametrize("call", _hostile_calls(), ids=lambda c: c.func.__name__)
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_allowed_globals_with_unbounded_arguments_are_refused(call, protocol):
    data = pickle.dumps({"names": [call]}, protocol=protocol)
    with pytest.raises(SkeletonDataError, match="refused (call|global)") as info:
        safe_loads(data, path="bomb.pkl")
    assert str(info.value.path) == "bomb.pkl"


def test_object_arrays_are_refused_before_numpy_sizes_them():
    # an object array's state is sized from its shape before its items are read: a
    # shape of 10**9 with one item would allocate 8 GB
    from numpy._core.multiarray import _reconstruct

    class _HugeObjectArray:
        def __reduce__(self):
            return (_reconstruct, (np.ndarray, (0,), b"b"),
                    (1, (10**9,), np.dtype(object), False, [1]))  # fmt: skip

    for value in (np.array(["a", 1], dtype=object), _HugeObjectArray()):
        with pytest.raises(SkeletonDataError, match="refused object dtype") as info:
            safe_loads(pickle.dumps({"x": value}, protocol=4), path="objects.pkl")
        assert str(info.value.path) == "objects.pkl"


def _bytearray8(declared: int, payload: bytes) -> bytes:
    """A protocol-5 pickle of one bytearray whose BYTEARRAY8 opcode declares ``declared``
    bytes but holds ``payload``."""
    return b"\x80\x05\x96" + declared.to_bytes(8, "little") + payload + b"."


@pytest.mark.parametrize("declared", [2**62, 900_000_000, 64])
def test_counted_lengths_beyond_the_file_are_refused_before_allocation(declared, capfd):
    # CPython's unpickler allocates a BYTEARRAY8 before reading it: a 20-byte file could
    # ask for 4 EiB (and a failed allocation printed "SystemError: deallocated bytearray
    # object has exported buffers"); the opcodes are checked against the file first
    with pytest.raises(SkeletonDataError, match="bytearray8") as info:
        safe_loads(_bytearray8(declared, b"abc"), path="lie.pkl")
    assert str(info.value.path) == "lie.pkl"
    assert "SystemError" not in capfd.readouterr().err
    assert safe_loads(_bytearray8(3, b"abc")) == bytearray(b"abc")


@pytest.mark.parametrize("index", [2**31 - 1, 5])
def test_memo_indices_out_of_sequence_are_refused(index):
    # LONG_BINPUT 2**31-1 would make the unpickler grow its memo table to 16 GiB
    data = b"\x80\x04K\x01r" + index.to_bytes(4, "little") + b"."
    with pytest.raises(SkeletonDataError, match="memo index"):
        safe_loads(data, path="memo.pkl")
    assert safe_loads(b"\x80\x04K\x01r" + (0).to_bytes(4, "little") + b".") == 1
