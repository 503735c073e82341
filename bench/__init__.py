"""Benchmarks: ``make bench`` (``python -m bench``).

Figures are printed as ratios against a bare Flask JSON endpoint measured in the same run,
never as absolute thresholds in timed unit tests.
"""
