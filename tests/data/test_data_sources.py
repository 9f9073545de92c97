"""The read report type, the sample-source protocol and prepare's single walk of a folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pyg_action.data import SkeletonDataset, format_report, open_prepared, prepare, write_cache
from pyg_action.data.prepared import describe_error
from pyg_action.data.report import ReadReport
from pyg_action.data.sources import InMemorySource, SampleSource, open_source
from pyg_action.errors import SkeletonDataError
from pyg_action.io import write_npz
from pyg_action.sequence import SkeletonSequence


def seq(name: str, label: int, frames: int = 6, layout: str = "msr20") -> SkeletonSequence:
    rng = np.random.default_rng(label + frames)
    data = rng.normal(size=(3, frames, 20, 1)).astype(np.float32)
    return SkeletonSequence(data, label, layout, name, {"subject": label + 1})


def test_a_report_formats_itself_and_reads_as_its_json_object():
    report = ReadReport(
        good=3,
        bad_files=[("a.txt", "line 2: not a number"), ("b.txt", "all coordinates are zero")],
        unread_files=["notes.md"],
        source="/data",
        format="msr",
    ).with_facts({"not NTU-60": 4}, excluded=[["s1", "listed"]], benchmark="xsub")
    assert report.bad == 2 and report.noteworthy
    assert report.summary(limit=1).splitlines() == [
        "3 good, 2 bad samples",
        "  bad: a.txt: line 2: not a number",
        "  ... and 1 more (see the report)",
        "  not read: notes.md",
        "  left out: 4 sample(s): not NTU-60",
        "  excluded: 1",
        "  benchmark: xsub",
    ]
    as_json = json.loads(json.dumps(dict(report)))
    assert as_json["bad"] == 2 and as_json["bad_files"][1] == ["b.txt", "all coordinates are zero"]
    assert ReadReport.of(as_json) == report  # the stored form reads back whole
    assert format_report(as_json, limit=1) == report.summary(limit=1)
    assert report.left_out() == "; 4 left out: not NTU-60"
    assert not ReadReport(good=5).noteworthy


@pytest.mark.parametrize(
    "stored",
    ['{"good": 1e400}', '{"bad_files": 5}', '{"bad_files": [["a", "b", "c"]]}', '{"good": []}'],
)
def test_a_tampered_report_is_an_error_naming_it(tmp_path, stored):
    write_cache([seq("a", 0)], tmp_path / "cache")
    (tmp_path / "cache" / "report.json").write_text(stored, encoding="utf-8")
    with pytest.raises(SkeletonDataError, match=r"report.json: not a read report"):
        open_prepared(tmp_path / "cache")


def test_a_reader_error_is_described_by_the_error_itself():
    error = SkeletonDataError("not a number", "/x/a.txt", line=3, frame=1, sample="s")
    assert str(error) == "/x/a.txt, line 3, frame 1, sample s: not a number"
    assert describe_error(error) == "line 3, frame 1, sample s: not a number"
    assert describe_error(SkeletonDataError("empty", "/x/a.txt")) == "empty"


def test_every_source_kind_serves_the_dataset_alike(tmp_path):
    samples = [seq(f"s{i}", i % 3) for i in range(5)]
    write_cache(samples, tmp_path / "cache")
    cache = open_prepared(tmp_path / "cache")
    memory = InMemorySource(samples)
    for source in (cache, memory):
        assert isinstance(source, SampleSource)
        assert open_source(source) is source
        assert list(source.names) == [s.name for s in samples]
        assert source.labels.tolist() == [s.label for s in samples]
        assert [m["subject"] for m in source.metas] == [s.meta["subject"] for s in samples]
        assert source.layout == "msr20" and source.get_layout().num_joints == 20
    assert isinstance(open_source(tmp_path / "cache"), type(cache))
    assert isinstance(open_source(samples), InMemorySource)
    from_cache = SkeletonDataset(cache, [1, 3], transforms=[])
    from_memory = SkeletonDataset(samples, [1, 3], transforms=[])
    from_path = SkeletonDataset(tmp_path / "cache", [1, 3], transforms=[])
    for dataset in (from_memory, from_path):
        assert dataset.names == from_cache.names == ["s1", "s3"]
        assert dataset.labels.tolist() == from_cache.labels.tolist()
        np.testing.assert_array_equal(dataset[1].x, from_cache[1].x)
    assert from_cache.description.startswith("prepared cache ")
    assert from_memory.description == "5 in-memory sequences"


def test_sequences_of_mixed_layouts_need_one_named():
    mixed = [seq("a", 0), seq("b", 1, layout="ntu25")]
    with pytest.raises(SkeletonDataError, match=r"name layouts \['msr20', 'ntu25'\]; pass"):
        SkeletonDataset(mixed, transforms=[])


def _count_walks(monkeypatch, folder: Path) -> list[str]:
    """Record every glob / rglob of ``folder`` (each is one walk of the tree)."""
    walks: list[str] = []
    for name in ("glob", "rglob"):
        original = getattr(Path, name)

        def counted(self, pattern, *args, _original=original, _name=name, **kwargs):
            if self == folder:
                walks.append(f"{_name}({pattern})")
            return _original(self, pattern, *args, **kwargs)

        monkeypatch.setattr(Path, name, counted)
    return walks


def test_prepare_walks_the_folder_once(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    write_npz(folder / "a.npz", [seq("a", 0)])
    (folder / "notes.md").write_text("x")
    walks = _count_walks(monkeypatch, folder.resolve())
    report = prepare(folder, tmp_path / "cache", progress=False)
    assert report["good"] == 1 and report["unread_files"] == [str(folder.resolve() / "notes.md")]
    assert len(walks) == 1, walks


def test_a_cache_inside_its_source_is_never_read_as_samples(tmp_path):
    write_npz(tmp_path / "a.npz", [seq("a", 0)])
    (tmp_path / "labels.json").write_text("{}")  # read as Kinetics: one bad file
    for _ in range(2):  # the second run finds the first one's cache (index.json, source.json)
        report = prepare(tmp_path, tmp_path / "cache", progress=False)
        assert report["good"] == 1
        assert [Path(file).name for file, _ in report["bad_files"]] == ["labels.json"]
