"""Keel's benchmark suite: exact instruction counts of exit paths, domain
operations and footprint, on both backends (see docs/benchmarks.md)."""
