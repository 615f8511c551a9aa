"""Rules: the points baseline (and, later, hard rules and overrides)."""

from __future__ import annotations

from careleads.rules._points import PointRule, PointsScorer, PointsTable, load_points, squash

__all__ = ["PointRule", "PointsScorer", "PointsTable", "load_points", "squash"]
