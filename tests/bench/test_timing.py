"""The benchmark's timing loop: every run timed once per round, rounds in rotating order."""

from collections import Counter

from pyg_action.bench.timing import interleaved_times


def test_rounds_rotate_so_no_run_always_follows_the_same_one():
    calls: list[str] = []
    runs = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = interleaved_times(runs, warmup=1, repeats=5)
    assert {name: len(values) for name, values in times.items()} == {"a": 5, "b": 5, "c": 5}
    rounds = [calls[i : i + 3] for i in range(0, len(calls), 3)]
    assert [r[0] for r in rounds] == ["a", "b", "c", "a", "b", "c"]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    # over the six rounds, "a" is preceded by each of the others (not only by "c")
    before_a = Counter(calls[i - 1] for i in range(1, len(calls)) if calls[i] == "a")
    assert set(before_a) == {"b", "c"}
