"""A real Django settings module for the middleware tests: SQLite files, the fluoro app and
middleware, and the ``XRAY_RECORDER`` namespace."""

from __future__ import annotations

import os
import tempfile

_DB_DIR = os.environ.get("FLUORO_DJANGO_DB_DIR") or tempfile.mkdtemp(prefix="fluoro-django-")

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "tests.web.django_project.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "fluoro.ext.django",
    "tests.web.django_project.shop",
]

MIDDLEWARE = [
    "fluoro.ext.django.middleware.XRayMiddleware",
    "django.middleware.common.CommonMiddleware",
]

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(_DB_DIR, "shop.sqlite3")},
    # SQLite ignores HOST and USER; they are set to check what the subsegments record.
    "reporting": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(_DB_DIR, "reporting.sqlite3"),
                  "HOST": "reporting.internal", "USER": "report"},
}

TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]

XRAY_RECORDER = {
    "AWS_XRAY_TRACING_NAME": "django-shop",
    "AUTO_INSTRUMENT": True,
    "SAMPLING": False,
}
