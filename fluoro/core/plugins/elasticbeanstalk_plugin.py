"""Elastic Beanstalk plugin: the environment file the platform writes for the X-Ray SDKs.

The file path can be overridden with ``FLUORO_ELASTICBEANSTALK_CONF`` (or by setting
``CONF_PATH``), mainly for tests.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

CONF_PATH = "/var/elasticbeanstalk/xray/environment.conf"
CONF_PATH_ENV = "FLUORO_ELASTICBEANSTALK_CONF"
SERVICE_NAME = "elastic_beanstalk"
ORIGIN = "AWS::ElasticBeanstalk::Environment"

runtime_context: dict | None = None


def initialize() -> None:
    """Load the file verbatim (``deployment_id``, ``version_label``, ``environment_name``)."""
    global runtime_context
    import json

    try:
        with open(os.environ.get(CONF_PATH_ENV) or CONF_PATH, encoding="utf-8") as f:
            runtime_context = json.load(f)
    except Exception:
        runtime_context = None
        log.warning("failed to load Elastic Beanstalk environment config file")
