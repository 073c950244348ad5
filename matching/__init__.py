"""Matching engine: candidate generation, OR-Tools optimisation, explanations, KPIs.

Reads the engine input built by :func:`symbiosis.network.load_network`; never
touches the database or a UI.
"""
