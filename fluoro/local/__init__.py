"""Local serverless emulation: a SAM template run on this machine with AWS-shaped X-Ray traces."""
