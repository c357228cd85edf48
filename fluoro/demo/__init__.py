"""``fluoro demo``: the whole loop on one machine, in one command."""
