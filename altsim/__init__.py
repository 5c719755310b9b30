"""altsim: measured convergence of FedAlt and FedSim against the theory's bounds."""

__version__ = "0.2.0"
