"""cvewatch: CVE infrastructure for RPM-based container-host distributions."""

__version__ = "0.1.0"
