"""Performance benchmark of the lake (issue 8): `make bench`, or `python -m bench.run`."""
