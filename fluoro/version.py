"""fluoro's version, and the upstream SDK version whose behaviour it mirrors."""

VERSION = "0.1.0"
#: aws-xray-sdk release whose public surface fluoro.core reproduces.
UPSTREAM_COMPAT_VERSION = "2.15.0"
