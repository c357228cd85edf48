"""Django: add ``'fluoro.ext.django'`` to ``INSTALLED_APPS`` and
``'fluoro.ext.django.middleware.XRayMiddleware'`` first in ``MIDDLEWARE``; configure under
the ``XRAY_RECORDER`` setting (aws_xray_sdk.ext.django paths and keys)."""

default_app_config = "fluoro.ext.django.apps.XRayConfig"
