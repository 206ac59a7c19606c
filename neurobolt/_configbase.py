"""The base of every typed config: dataclasses that round-trip through JSON.

Configs are saved next to everything we write (prepared caches, runs, checkpoints) so a result can
always be traced back to the exact options that produced it. Unknown keys are an error when loading,
so a typo in a hand-edited JSON cannot be silently ignored.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T", bound="Config")


class Config:
    """Mixin for ``@dataclass`` configs: ``to_dict``/``from_dict`` and JSON save/load."""

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(dataclasses.asdict(self))  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], values: dict[str, Any]) -> T:
        if not isinstance(values, dict):
            raise ConfigError(f"{cls.__name__}: expected a JSON object, got {type(values).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown option(s) {unknown}; known options are {sorted(fields)}"
            )
        hints = typing.get_type_hints(cls)
        kwargs = {name: _from_jsonable(hints.get(name), value) for name, value in values.items()}
        return cls(**kwargs)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls: type[T], path: str | Path) -> T:
        return cls.from_dict(cls.read_values(path))

    @classmethod
    def read_values(cls, path: str | Path) -> dict[str, Any]:
        """The JSON object in ``path``, not yet checked (so that command-line flags can be laid
        over a file that is only valid together with them, e.g. ``epochs`` plus ``--model``)."""
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(f"cannot read config '{path}': {err}") from None
        if not isinstance(values, dict):
            raise ConfigError(f"config '{path}' must hold a JSON object, "
                              f"got {type(values).__name__}")
        return values

    def replace(self: T, **changes: Any) -> T:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _from_jsonable(hint: Any, value: Any) -> Any:
    """Rebuild nested configs and tuples from their JSON form, following the type hints."""
    if value is None or hint is None:
        return value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            if dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return arg.from_dict(value)
            if typing.get_origin(arg) is tuple and isinstance(value, list):
                return tuple(value)
        return value
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return hint.from_dict(value)
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    return value
