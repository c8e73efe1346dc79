"""Scenario simulation engine for the 2025-26 Lithuania-Belarus truck standoff."""

__version__ = "0.1.0"
