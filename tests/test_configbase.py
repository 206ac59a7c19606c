from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from neurobolt._configbase import Config
from neurobolt.errors import ConfigError


@dataclass
class Inner(Config):
    rate: float = 200.0
    names: tuple[str, ...] = ("A", "B")


@dataclass
class Outer(Config):
    name: str = "x"
    inner: Inner = field(default_factory=Inner)
    maybe: Inner | None = None
    mapping: dict[str, str] | None = None


def test_round_trip_through_json_keeps_types(tmp_path):
    cfg = Outer(name="y", inner=Inner(rate=250.0, names=("C",)), maybe=Inner(), mapping={"T3": "T7"})
    path = tmp_path / "cfg.json"
    cfg.save(path)
    back = Outer.load(path)
    assert back == cfg
    assert isinstance(back.inner, Inner) and isinstance(back.maybe, Inner)
    assert back.inner.names == ("C",)


def test_unknown_key_is_an_error_that_names_it():
    with pytest.raises(ConfigError, match="typo_rate"):
        Inner.from_dict({"typo_rate": 1.0})


def test_unreadable_json_is_a_config_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        Outer.load(path)


def test_every_config_of_the_package_round_trips_through_json(tmp_path):
    import dataclasses

    import neurobolt.config as hub

    for name in hub.__all__:
        cls = getattr(hub, name)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            continue
        if name == "ModelConfig":  # a model config needs its channels and ROIs
            default = cls.preset("tiny", ch_names=("FP1", "CZ"), roi_names=("roi_a",))
        else:
            default = cls()
        path = tmp_path / f"{name}.json"
        default.save(path)
        assert cls.load(path) == default, name
