"""The base every registered component shares: a parameter schema, validation and capability flags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from search_engine.params import Param, schema_of


class Component:
    """A class that can be chosen by name in a study configuration.

    A subclass is a dataclass whose parameters are fields declared with
    :func:`~search_engine.params.param`; ``schema()`` derives the form's ``Param`` list from them.
    Construction validates every parameter (``XGBSurrogate(max_depth=99)`` raises a ConfigError
    naming ``surrogate.params.max_depth``) and stores it converted (an int given for a float is
    stored as a float), then runs ``check_params`` for rules that involve several parameters. A
    subclass that needs setup after construction defines ``__post_init__`` and calls this one first.

    ``capabilities()`` reports what a kind can do (e.g. a surrogate's ``provides_std``), which the
    registry's ``describe()`` shows and configuration checks read, so nobody has to guess from a
    class name. Each kind's base class is an ``abc.ABC`` with the methods its components must fill.
    """

    KIND: ClassVar[str] = "component"
    """The study-configuration field this kind fills (``surrogate``, ``space``, ...): errors of
    directly constructed components name ``<KIND>.params.<name>``."""

    def __post_init__(self) -> None:
        prefix = f"{self.KIND}.params"
        for spec in self.schema():
            object.__setattr__(
                self, spec.name, spec.validate(getattr(self, spec.name), f"{prefix}.{spec.name}")
            )
        self.check_params(self.param_values(), prefix)

    @classmethod
    def schema(cls) -> tuple[Param, ...]:
        """Every parameter, in declaration order, from the class's ``param`` fields."""
        return schema_of(cls)

    @classmethod
    def check_params(cls, values: Mapping[str, Any], field: str) -> None:
        """Raise ConfigError naming ``field.<name>`` when parameters are invalid together (none here).

        ``values`` are complete and individually valid; the registry calls this when it resolves a
        configuration, so a study can be checked without constructing its components.
        """

    def param_values(self) -> dict[str, Any]:
        """The instance's parameters by name (what ``registry.build`` would need to rebuild it)."""
        return {spec.name: getattr(self, spec.name) for spec in self.schema()}

    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        """Flags other components and the web form read; empty unless a kind defines some."""
        return {}

    @classmethod
    def capabilities_for(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """The flags an instance with parameters ``values`` has; the class's unless they depend on them."""
        return cls.capabilities()
