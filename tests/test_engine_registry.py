"""Tests for mopd.engine.registry.Registry."""
import pytest

from mopd.engine.registry import Registry


def test_register_uses_class_name_and_get_returns_it():
    registry = Registry("THING")

    @registry.register()
    class Alpha:
        pass

    def beta():
        return "b"

    registry.register(beta)
    assert registry.get("Alpha") is Alpha
    assert registry.get("beta")() == "b"
    assert registry.registered_names() == ["Alpha", "beta"]
    assert "Alpha" in registry and "Gamma" not in registry


def test_duplicate_name_raises_key_error():
    registry = Registry("THING")

    @registry.register()
    class Alpha:
        pass

    with pytest.raises(KeyError, match="already registered"):
        registry.register(Alpha)


def test_unknown_name_lists_valid_names_and_nearest_match():
    registry = Registry("TRAINER")
    for name in ("CoOp", "CoCoOp", "KgCoOp", "MoPD"):
        registry.register(type(name, (), {}))
    with pytest.raises(KeyError) as info:
        registry.get("KgCooP")
    message = info.value.args[0]
    assert "valid names: CoCoOp, CoOp, KgCoOp, MoPD" in message
    assert 'did you mean "KgCoOp"' in message
