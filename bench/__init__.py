"""Benchmarks. ``python -m bench`` (or ``make bench``) runs them, prints a table and writes
``bench/results.json``. Each benchmark reports ratios against a baseline measured in the same run
(never absolute thresholds), plus raw counts such as API calls by type."""
