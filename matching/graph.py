"""The exchange network as a networkx graph — for analysis and display, not for solving."""

from __future__ import annotations

import networkx as nx

from matching.engine import MatchResult
from symbiosis.network import Network


def to_networkx(result: MatchResult, network: Network, candidates: bool = False) -> nx.MultiDiGraph:
    """Firms as nodes (name, park, sector, lat, lon); proposed exchanges as edges.

    With ``candidates=True`` every feasible arc considered by the solver is added too
    (``proposed=False`` on those edges).
    """
    g = nx.MultiDiGraph()
    for f in network.firms.itertuples(index=False):
        g.add_node(f.firm_id, name=f.name, park_id=f.park_id, sector_code=f.sector_code, lat=f.lat, lon=f.lon)
    for m in result.matches.itertuples(index=False):
        g.add_edge(m.supplier_firm_id, m.receiver_firm_id, material_id=m.material_id, rule_id=m.rule_id,
                   quantity=m.quantity, unit=m.unit, distance_km=m.distance_km, proposed=True)
    if candidates and result.candidates is not None:
        s = network.streams
        for a in result.candidates.arcs.itertuples(index=False):
            g.add_edge(s.firm_id.iat[a.supply], s.firm_id.iat[a.demand], material_id=s.material_id.iat[a.supply],
                       rule_id=a.rule_id, distance_km=a.distance_km, proposed=False)
    return g
