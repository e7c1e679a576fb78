"""Lattice laws of labels, by property tests over both shipped policies."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from egide.core.labels import Label, join
from tests.core.strategies import NATO, REGISTRY, labels


@given(labels(), labels())
def test_join_is_commutative(a: Label, b: Label) -> None:
    assert join(a, b) == join(b, a)


@given(labels(), labels(), labels())
def test_join_is_associative(a: Label, b: Label, c: Label) -> None:
    assert join(join(a, b), c) == join(a, join(b, c))


@given(labels())
def test_join_is_idempotent(a: Label) -> None:
    assert join(a, a) == a


@given(labels(), labels())
def test_join_dominates_each_input(a: Label, b: Label) -> None:
    joined = join(a, b)
    assert joined.dominates(a)
    assert joined.dominates(b)


@settings(max_examples=300)
@given(labels(), labels(), labels())
def test_join_is_the_least_upper_bound(a: Label, b: Label, upper: Label) -> None:
    if upper.dominates(a) and upper.dominates(b):
        assert upper.dominates(join(a, b))


@given(labels())
def test_dominance_is_reflexive(a: Label) -> None:
    assert a.dominates(a)


@given(st.data())
def test_dominance_is_antisymmetric_within_a_policy(data: st.DataObject) -> None:
    policy = data.draw(st.sampled_from(["FR", "NATO"]))
    a, b = data.draw(labels((policy,))), data.draw(labels((policy,)))
    if a.dominates(b) and b.dominates(a):
        assert a == b


@given(labels(), labels())
def test_dominance_across_policies_is_antisymmetric_up_to_equivalence(a: Label, b: Label) -> None:
    if a.dominates(b) and b.dominates(a):
        assert a.expressed_in(NATO) == b.expressed_in(NATO)


@given(labels(), labels(), labels())
def test_dominance_is_transitive(a: Label, b: Label, c: Label) -> None:
    if a.dominates(b) and b.dominates(c):
        assert a.dominates(c)


def test_rel_to_is_intersected() -> None:
    a = REGISTRY.parse("NATO SECRET REL TO FRA, DEU")
    b = REGISTRY.parse("NATO SECRET REL TO FRA, GBR")
    assert REGISTRY.format(join(a, b)) == "NATO SECRET REL TO FRA"


def test_cross_policy_join_keeps_the_nato_origin() -> None:
    joined = join(REGISTRY.parse("SECRET SPÉCIAL FRANCE"), REGISTRY.parse("NATO CONFIDENTIAL"))
    assert REGISTRY.format(joined, "en") == "NATO SECRET REL TO FRA"
    assert joined.dominates(REGISTRY.parse("SECRET"))


def test_fr_levels_map_to_their_nato_equivalents() -> None:
    pairs = {
        "NON PROTÉGÉ": "NATO UNCLASSIFIED",
        "DIFFUSION RESTREINTE": "NATO RESTRICTED",
        "SECRET": "NATO SECRET",
        "TRÈS SECRET": "COSMIC TOP SECRET",
    }
    for fr, nato in pairs.items():
        assert REGISTRY.parse(fr).expressed_in(NATO) == REGISTRY.parse(nato)
    assert REGISTRY.parse("SECRET").dominates(REGISTRY.parse("NATO CONFIDENTIAL"))
    assert not REGISTRY.parse("DR").dominates(REGISTRY.parse("NATO CONFIDENTIAL"))
