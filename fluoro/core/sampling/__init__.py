"""Sampling decisions: centralized rules polled from the daemon, with local rules as fallback."""
