"""The development harness (not installed with the package): the local stack
that `make run`, the tests, chaos, soak and the benchmarks start
(`stack.py`), and job types for tests (`testing_handlers.py`). Run from the
repository root (`python -m devtools.stack ...`)."""
