"""Benchmark scripts (run them as ``python benchmarks/<name>.py``) and their helper packages."""
