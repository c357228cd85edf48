"""Server-side centralized sampling: reservoir sharing and target assignment, backend-neutral.

(The SDK's client side lives in ``fluoro.core.sampling``.)
"""
