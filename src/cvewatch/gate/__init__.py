"""The release gate's I/O-free core: BVT results, performance results, A/B statistics, change points, verdict.

The statistics are specified in ``docs/gate-statistics.md``; this package implements them. It imports nothing
of cvewatch but :mod:`cvewatch.errors`.
"""
