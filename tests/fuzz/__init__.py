"""The fuzz harness: generated and mutated specs run under time and memory limits.

`python -m tests.fuzz --cases 20000` runs a long campaign (see tests/fuzz/__main__.py);
tests/test_fuzz.py runs a short seeded one in the normal test suite.
"""
