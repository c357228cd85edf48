"""Resolve ``configure(plugins=...)`` names to plugin modules."""

from __future__ import annotations

import importlib

from ..exceptions.exceptions import MissingPluginNames

module_prefix = "fluoro.core.plugins."

PLUGIN_MAPPING = {
    "elasticbeanstalkplugin": "elasticbeanstalk_plugin",
    "ec2plugin": "ec2_plugin",
    "ecsplugin": "ecs_plugin",
}


def get_plugin_modules(plugins: tuple | list | str) -> tuple:
    """Import plugins by name (``'EC2Plugin'`` or ``'ec2_plugin'``, case-insensitive)."""
    if not plugins:
        raise MissingPluginNames("input plugin names are required")
    if isinstance(plugins, str):
        # ``plugins=('EC2Plugin')`` is a common typo for a one-element tuple; upstream
        # would iterate the characters and fail to import a module named 'e'.
        plugins = (plugins,)
    modules = []
    for plugin in plugins:
        short_name = PLUGIN_MAPPING.get(plugin.lower(), plugin.lower())
        modules.append(importlib.import_module(module_prefix + short_name))
    return tuple(modules)
