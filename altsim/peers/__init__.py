"""Real peers measured beside altsim (optional extras): `altsim.peers.flower`."""
