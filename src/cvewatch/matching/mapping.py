"""Which NVD CPE (vendor, product) names a source package goes by.

A reviewed data file (``data/cpe-mapping.toml``) lists the names per source package; a package that
is not listed falls back to "product == package name, any vendor", which the evidence marks as
unreviewed so that a person can confirm or correct it.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cvewatch.errors import ConfigError

VendorProduct = tuple[str, str]


@dataclass(frozen=True, slots=True)
class PackageNames:
    """The CPE names of one source package and whether a person reviewed them."""

    package: str
    names: tuple[VendorProduct, ...]  # empty with curated=False means "any vendor, product == name"
    curated: bool

    def matches(self, vendor: str, product: str) -> bool:
        if self.curated:
            return (vendor, product) in self.names
        return product == self.package.lower()

    def describe(self, vendor: str, product: str) -> str:
        if self.curated:
            return f"curated mapping {self.package} -> {vendor}:{product}"
        return f"unreviewed fallback: CPE product {product!r} equals the package name (vendor {vendor!r})"


class PackageMapping:
    """Source package name -> CPE names, from a reviewed TOML file."""

    def __init__(
        self,
        table: dict[str, tuple[VendorProduct, ...]],
        origin: str = "<memory>",
        cna: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._table = table
        self._cna = cna or {}
        self.origin = origin

    @classmethod
    def load(cls, path: Path | None = None) -> PackageMapping:
        """Load ``path``, or the mapping shipped with cvewatch."""
        if path is None:
            text = resources.files("cvewatch.matching").joinpath("data/cpe-mapping.toml").read_text("utf-8")
            origin = "cvewatch/matching/data/cpe-mapping.toml"
        else:
            try:
                text = path.read_text("utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read the CPE mapping {path}: {exc.strerror}") from exc
            origin = str(path)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
        table: dict[str, tuple[VendorProduct, ...]] = {}
        for package, names in data.get("packages", {}).items():
            if not isinstance(names, list) or not all(
                isinstance(n, str) and n.count(":") == 1 for n in names
            ):
                raise ConfigError(f"{origin}: package {package!r} needs a list of 'vendor:product' strings")
            table[package] = tuple(
                (v.strip().lower(), p.strip().lower()) for v, p in (n.split(":", 1) for n in names)
            )
        cna: dict[str, tuple[str, ...]] = {}
        for package, products in data.get("cna", {}).items():
            if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
                raise ConfigError(f"{origin}: [cna] {package!r} needs a list of product names")
            cna[package] = tuple(p.strip().lower() for p in products)
        return cls(table, origin, cna)

    def names_for(self, package: str) -> PackageNames:
        names = self._table.get(package)
        if names is None:
            return PackageNames(package, (), curated=False)
        return PackageNames(package, names, curated=True)

    def cna_products(self, package: str) -> tuple[str, ...]:
        """Product names CNAs use for ``package`` in CVE JSON 5 records, beyond its CPE products."""
        return self._cna.get(package, ())

    @property
    def digest(self) -> str:
        """A sha256 of the table: a scan made with another mapping is not a base for an incremental one."""
        text = "\n".join(
            f"{k}={','.join(f'{v}:{p}' for v, p in names)}" for k, names in sorted(self._table.items())
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def cpe_names(self, packages: Iterable[str]) -> tuple[set[VendorProduct], set[str]]:
        """What NVD criteria name ``packages``: the (vendor, product) pairs of the curated ones, and the
        products (any vendor) of the others, which are their lower-case names."""
        pairs: set[VendorProduct] = set()
        products: set[str] = set()
        for package in packages:
            names = self._table.get(package)
            if names is None:
                products.add(package.lower())
            else:
                pairs.update(names)
        return pairs, products
