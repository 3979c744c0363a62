"""The base every registered component shares: a parameter schema and capability flags."""

from __future__ import annotations

from typing import Any, ClassVar

from search_engine.params import Param


class Component:
    """A class that can be chosen by name in a study configuration.

    Subclasses list their constructor keywords in ``PARAMS`` and report what they can do through
    ``capabilities()`` (e.g. a surrogate's ``provides_std``), which the registry's ``describe()``
    shows and configuration checks read, so nobody has to guess from a class name.
    """

    PARAMS: ClassVar[tuple[Param, ...]] = ()

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        """Flags other components and the web form read; empty unless a kind defines some."""
        return {}
