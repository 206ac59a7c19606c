"""The built-in simulated simultaneous EEG-fMRI study (``neurobolt simulate``).

See ``docs/simulation.md`` for the generative model and the files written.
"""
from __future__ import annotations

from .config import SimulationConfig
from .study import SimulationResult, simulate_study

__all__ = ["SimulationConfig", "SimulationResult", "simulate_study"]
