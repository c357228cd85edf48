"""patch()/patch_all(): names, aliases, and lazy patching of the user's own modules."""

from __future__ import annotations

import logging
import sys
import textwrap

import pytest

from fluoro.core import patch, patcher, xray_recorder
from fluoro.core.context import Context
from fluoro.core.emitters.memory import InMemoryEmitter


@pytest.fixture
def recorder():  # type: ignore[no-untyped-def]
    saved = (xray_recorder.emitter, xray_recorder.context, xray_recorder.sampling)
    capture = InMemoryEmitter()
    xray_recorder.configure(emitter=capture, context=Context(), sampling=False)
    yield capture
    xray_recorder.emitter, xray_recorder.context, xray_recorder.sampling = saved


@pytest.fixture
def local_package(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A package ``shop`` under the working directory, as a user's app would have."""
    pkg = tmp_path / "shop"
    (pkg / "inner").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "orders.py").write_text(textwrap.dedent('''
        import json  # imported names are not patched

        def place(n):
            return n * 2

        class Cart:
            def __init__(self):
                self.items = []

            def add(self, item):
                self.items.append(item)
                return len(self.items)

            @staticmethod
            def tax(x):
                return x + 1

            @classmethod
            def empty(cls):
                return cls()
    '''))
    (pkg / "inner" / "__init__.py").write_text("")
    (pkg / "inner" / "util.py").write_text("def helper():\n    return 'h'\n")
    (pkg / "skipped.py").write_text("def ignored():\n    return 1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "shop"
    for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
        del sys.modules[name]
    for name in [m for m in patcher._PATCHED_MODULES if m == "shop" or m.startswith("shop.")]:
        patcher._PATCHED_MODULES.discard(name)


def test_local_modules_are_patched_lazily_on_import(recorder, local_package, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        patch([local_package], ignore_module_patterns=[r"shop\.skipped"])
    assert "shop.orders" not in sys.modules, "patching must not import the module"

    from shop import orders, skipped  # type: ignore[import-not-found]
    from shop.inner import util  # type: ignore[import-not-found]

    assert "Cannot automatically patch classmethod Cart.empty" in caplog.text
    xray_recorder.begin_segment("app")
    assert orders.place(2) == 4
    cart = orders.Cart()
    assert cart.add("x") == 1
    assert orders.Cart.tax(1) == 2
    assert util.helper() == "h"
    assert skipped.ignored() == 1
    assert orders.Cart.empty().items == []
    xray_recorder.end_segment()
    names = [s["name"] for s in recorder.documents[0]["subsegments"]]
    # Cart.empty() is not recorded itself, but the __init__ it calls is.
    assert names == ["place", "Cart.__init__", "add", "tax", "helper", "Cart.__init__"]


def test_a_plain_string_is_one_module_name() -> None:
    # The article writes patch(('botocore')), which is the string 'botocore'.
    patch("botocore")
    assert "botocore" in patcher._PATCHED_MODULES


def test_aliases_resolve_to_patch_modules() -> None:
    patch(["boto3"])
    assert "botocore" in patcher._PATCHED_MODULES


def test_unknown_names_raise_with_the_upstream_message(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception, match="modules nosuchlib are currently not supported for patching"):
        patch(["nosuchlib"])


def test_relative_names_are_rejected() -> None:
    with pytest.raises(Exception, match="relative packages not supported for patching: .rel"):
        patch([".rel"])


def test_patch_all_skips_libraries_that_are_not_installed_or_not_yet_supported() -> None:
    # In a fresh interpreter: patch_all() patches every installed library process-wide.
    # pymongo is made uninstalled (its import fails); httplib is left out without double_patch.
    import subprocess

    code = ("import sys; sys.modules['pymongo'] = None\n"
            "from fluoro.core import patch_all, patcher\n"
            "patch_all()\n"
            "print(' '.join(sorted(patcher._PATCHED_MODULES)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    patched = proc.stdout.split()
    assert "botocore" in patched and "sqlite3" in patched
    assert "pymongo" not in patched and "httplib" not in patched


def test_disabled_sdk_patches_nothing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fluoro import global_sdk_config

    monkeypatch.setattr(type(global_sdk_config), "_enabled", False)
    before = set(patcher._PATCHED_MODULES)
    patch(["sqlite3"])
    assert patcher._PATCHED_MODULES == before
