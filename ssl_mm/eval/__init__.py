"""Scoring on the VSR benchmark sets. The package itself exports only the protocols, which
params.yaml's validation needs; ``ssl_mm.eval.evaluate`` (MMagic's metrics, ~2 s to import)
is imported by whoever scores."""
from .protocols import PROTOCOLS, Protocol

__all__ = ['PROTOCOLS', 'Protocol']
