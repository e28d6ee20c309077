"""(d) storm: 10,000 deliveries of one alert -> exactly one incident (see ``bench/intake.py``)."""

from bench.intake import run_storm as run

__all__ = ["run"]
