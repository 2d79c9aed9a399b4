"""One exception hierarchy. The CLI turns each into one clear line and a non-zero exit."""

from __future__ import annotations


class CvewatchError(Exception):
    """Base of every error cvewatch raises on purpose."""

    #: the command line's exit status for it
    exit_status = 1


class InputError(CvewatchError):
    """Input that cannot be read or parsed (a file, a record, a line).

    ``where`` names the file and, when known, the line or record id.
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class SpecParseError(InputError):
    """A spec file that cannot be parsed."""


class RecordError(InputError):
    """A source record (an NVD CVE object, a CVE JSON 5 record) that is malformed."""


class StoreError(CvewatchError):
    """The database cannot be opened, migrated or written."""


class StoreBusy(StoreError):
    """Another process holds one of the store's locks (a run, a migration) longer than this one waits."""

    exit_status = 75  # EX_TEMPFAIL: not a failure of this run; try again later


class NotFoundError(CvewatchError):
    """A release, image or package named on the command line does not exist in the store."""


class ConfigError(CvewatchError):
    """Settings that are invalid."""
