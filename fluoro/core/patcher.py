"""``patch()`` / ``patch_all()``: instrument supported libraries, or the user's own modules.

Supported library names load ``fluoro.ext.<name>.patch()``. Any other name that is a
module or package under the current directory is the user's own code: every function
and method defined there is wrapped with ``xray_recorder.capture``, lazily when the
module is first imported (patching never imports it).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import pkgutil
import re
import sys

from .. import global_sdk_config

log = logging.getLogger(__name__)

SUPPORTED_MODULES = (
    "aiobotocore", "botocore", "pynamodb", "requests", "sqlite3", "mysql", "httplib",
    "pymongo", "pymysql", "psycopg2", "psycopg", "pg8000", "sqlalchemy_core", "httpx",
)
# httplib would trace the HTTP calls the other patchers already trace.
NO_DOUBLE_PATCH = tuple(m for m in SUPPORTED_MODULES if m != "httplib")

#: Names users pass that stand for (or also need) other patch modules.
ALIASES = {
    "boto3": ("botocore",),
    "aioboto3": ("aiobotocore",),
    "pynamodb": ("pynamodb", "botocore"),
}

_PATCHED_MODULES: set = set()


def patch_all(double_patch: bool = False) -> None:
    """Patch every supported library that is installed; missing ones are skipped."""
    patch(SUPPORTED_MODULES if double_patch else NO_DOUBLE_PATCH, raise_errors=False)


def patch(modules_to_patch, raise_errors: bool = True, ignore_module_patterns=None) -> None:  # type: ignore[no-untyped-def]
    """Patch the named libraries or local modules.

    A single string is one name (``patch(('botocore'))``, as the article writes it, is
    not a tuple in Python).
    """
    if not global_sdk_config.sdk_enabled():
        log.debug("Skipped patching modules %s because the SDK is currently disabled.", modules_to_patch)
        return
    if isinstance(modules_to_patch, str):
        modules_to_patch = (modules_to_patch,)
    wanted: list = []
    for name in modules_to_patch:
        for resolved in ALIASES.get(name, (name,)):
            if resolved not in wanted:
                wanted.append(resolved)
    native = [m for m in SUPPORTED_MODULES if m in wanted]
    external = [m for m in wanted if m not in SUPPORTED_MODULES]
    unsupported = [m for m in external if not m.startswith(".") and not _is_valid_import(m)]
    if unsupported:
        raise Exception("modules %s are currently not supported for patching" % ", ".join(unsupported))

    for module in native:
        _patch_module(module, raise_errors)
    ignore = [re.compile(p) for p in ignore_module_patterns or ()]
    for module in external:
        _external_module_patch(module, ignore)


def _patch_module(module_to_patch: str, raise_errors: bool = True) -> None:
    try:
        _patch(module_to_patch)
    except Exception:
        if raise_errors:
            raise
        log.debug("failed to patch module %s", module_to_patch)


def _patch(module_to_patch: str) -> None:
    path = "fluoro.ext.%s" % module_to_patch
    if module_to_patch in _PATCHED_MODULES:
        log.debug("%s already patched", module_to_patch)
        return
    importlib.import_module(path).patch()
    _PATCHED_MODULES.add(module_to_patch)
    log.info("successfully patched module %s", module_to_patch)


def _is_valid_import(module: str) -> bool:
    """True when ``module`` names a package or ``.py`` file relative to the current directory."""
    path = module.replace(".", "/")
    real = os.path.realpath(path)
    if os.path.isdir(real):
        return os.path.isfile(os.path.join(real, "__init__.py")) or os.path.isfile(os.path.join(real, "__init__.pyc"))
    return os.path.isfile(path + ".py") or os.path.isfile(path + ".pyc")


def _external_module_patch(module: str, ignore: list) -> None:
    if module.startswith("."):
        raise Exception("relative packages not supported for patching: %s" % module)
    if module in _PATCHED_MODULES:
        log.debug("%s already patched", module)
    elif any(pattern.match(module) for pattern in ignore):
        log.debug("%s ignored due to rules: %s", module, ignore)
    else:
        if module in sys.modules:
            _patch_loaded_module(sys.modules[module])
        else:
            import wrapt.importer

            wrapt.importer.when_imported(module)(_patch_loaded_module)
        _PATCHED_MODULES.add(module)
    path = module.replace(".", "/")
    if os.path.isdir(path):
        for info in pkgutil.iter_modules([path]):
            _external_module_patch("%s.%s" % (module, info.name), ignore)


def _patch_loaded_module(module) -> None:  # type: ignore[no-untyped-def]
    for name, member in list(vars(module).items()):
        if getattr(member, "__module__", None) != module.__name__:
            continue  # imported from elsewhere
        if inspect.isclass(member):
            _patch_class(member)
        elif inspect.isfunction(member):
            setattr(module, name, _capture(name, member))


def _patch_class(cls) -> None:  # type: ignore[no-untyped-def]
    for name, member in list(vars(cls).items()):
        if inspect.isclass(member) and getattr(member, "__module__", None) == cls.__module__:
            _patch_class(member)
            continue
        capture_name = "%s.%s" % (cls.__name__, name) if name.startswith("__") and name.endswith("__") else name
        if isinstance(member, classmethod):
            log.warning("Cannot automatically patch classmethod %s.%s, please apply decorator manually",
                        cls.__name__, name)
        elif isinstance(member, staticmethod):
            setattr(cls, name, staticmethod(_capture(capture_name, member.__func__)))
        elif inspect.isfunction(member):
            setattr(cls, name, _capture(capture_name, member))


def _capture(name: str, func):  # type: ignore[no-untyped-def]
    from . import xray_recorder

    return xray_recorder.capture(name)(func)
