"""aiohttp: the client trace config (``client``) and the server middleware (``middleware``)."""
