"""Hypothesis strategies for labels and clearances of the shipped policies."""

from __future__ import annotations

from hypothesis import strategies as st

from egide.core.labels import Clearance, Label, PolicyRegistry, TagType

REGISTRY = PolicyRegistry.builtin()
FR, NATO = REGISTRY.get("FR"), REGISTRY.get("NATO")
NATIONS = ["FRA", "DEU", "GBR", "USA", "POL", "ITA", "NATO"]


def _values(policy_id: str, kind: TagType) -> list[str]:
    policy = REGISTRY.get(policy_id)
    return [v for c in policy.categories if c.type is kind for v in c.values]


@st.composite
def labels(draw: st.DrawFn, policies: tuple[str, ...] = ("FR", "NATO")) -> Label:
    """A label of one of `policies`; a NATO one may carry French values without counterpart."""
    policy_id = draw(st.sampled_from(policies))
    policy = REGISTRY.get(policy_id)
    restrictive = _values(policy_id, TagType.RESTRICTIVE)
    if policy_id == "NATO":
        # What a join with French material leaves in a NATO label.
        restrictive += ["FR:NUCLÉAIRE", "FR:ROEM"]
    informative = _values(policy_id, TagType.INFORMATIVE)
    rel = draw(st.none() | st.frozensets(st.sampled_from(NATIONS), max_size=4))
    return Label(
        policy=policy,
        level=draw(st.integers(0, len(policy.levels) - 1)),
        compartments=draw(st.frozensets(st.sampled_from(restrictive), max_size=2)),
        releasable=() if rel is None else (("REL TO", rel),),
        handling=draw(st.frozensets(st.sampled_from(informative), max_size=2)),
    )


@st.composite
def clearances(draw: st.DrawFn, policies: tuple[str, ...] = ("FR", "NATO")) -> Clearance:
    """A clearance of one of `policies`, with a few nationalities and groups."""
    policy_id = draw(st.sampled_from(policies))
    policy = REGISTRY.get(policy_id)
    restrictive = _values(policy_id, TagType.RESTRICTIVE)
    if policy_id == "NATO":
        restrictive += ["FR:NUCLÉAIRE"]
    return Clearance(
        policy=policy,
        level=draw(st.integers(0, len(policy.levels) - 1)),
        compartments=draw(st.frozensets(st.sampled_from(restrictive), max_size=3)),
        nationality=draw(st.frozensets(st.sampled_from(NATIONS), min_size=1, max_size=3)),
    )
