"""Hypothesis strategies for labels of the shipped policies."""

from __future__ import annotations

from hypothesis import strategies as st

from egide.core.labels import Label, PolicyRegistry

REGISTRY = PolicyRegistry.builtin()
FR, NATO = REGISTRY.get("FR"), REGISTRY.get("NATO")
NATIONS = ["FRA", "DEU", "GBR", "ITA", "ESP"]


@st.composite
def labels(draw: st.DrawFn, policies: tuple[str, ...] = ("FR", "NATO")) -> Label:
    policy = REGISTRY.get(draw(st.sampled_from(policies)))
    restrictive = [v for c in policy.categories if c.type.value == "RESTRICTIVE" for v in c.values]
    informative = [v for c in policy.categories if c.type.value == "INFORMATIVE" for v in c.values]
    rel = draw(st.none() | st.frozensets(st.sampled_from(NATIONS), max_size=4))
    return Label(
        policy=policy,
        level=draw(st.integers(0, len(policy.levels) - 1)),
        compartments=draw(st.frozensets(st.sampled_from(restrictive), max_size=2)),
        releasable=() if rel is None else (("REL TO", rel),),
        handling=draw(st.frozensets(st.sampled_from(informative), max_size=1)),
    )
