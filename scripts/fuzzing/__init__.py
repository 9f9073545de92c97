"""Fuzzing of the readers: mutate valid files, read them in a sandbox, judge the outcome.

Tooling of ``scripts/fuzz_readers.py`` and of the tests (``tests/io``), kept out of the
installed package: scripts import it as their sibling ``fuzzing``, and pytest puts
``scripts`` on the import path (``pythonpath`` in ``pyproject.toml``).

* :mod:`.mutations`: byte, line, number, JSON, ``.npy`` header, ``.npz`` member and
  pickle mutations, driven by a :class:`~.mutations.Choices` source (``random`` in the
  long run, Hypothesis in the tests);
* :mod:`.targets`: one :class:`~.targets.Target` per reader, the valid seed files and
  :func:`~.targets.run_case`, which reads one mutated case and classifies the outcome;
* :mod:`.sandbox`: runs cases in a child process with a memory limit and a per-case
  time limit;
* :mod:`.corpus`: hand-made hostile files of every format and tampered prepared caches,
  each with the error it must end in.

The guarantee checked: every reader either returns finite float32 ``(C, T, V, M)``
samples or reports :class:`~pyg_action.errors.SkeletonDataError` naming the file (raised,
or one per bad sample of a container); never another exception, a hang or runaway memory.
"""
