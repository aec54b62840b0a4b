"""Gold: business aggregates over silver. ``GOLD`` is the registry; ``run`` refreshes tables."""

from lakehouse_jobs.gold.refresh import run
from lakehouse_jobs.gold.registry import GoldTable
from lakehouse_jobs.gold.tables import GOLD

__all__ = ["GOLD", "GoldTable", "run"]
