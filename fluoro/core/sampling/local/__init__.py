"""Local (in-process) sampling rules: used on Lambda, with ``LocalSampler``, or as fallback."""
