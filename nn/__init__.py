"""nn: a tiny neural-network framework on microgradnp."""
