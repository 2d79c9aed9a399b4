"""The domain types every stage shares: vulnerability records, packages and components, verdicts and
their evidence, triage statements. Plain frozen values without I/O; this package imports nothing of cvewatch
but ``versions`` and the base modules (``errors``)."""
