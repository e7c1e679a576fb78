"""Lattice laws of labels, by property tests over both shipped policies."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from egide.core.labels import Clearance, Label, join
from tests.core.strategies import NATO, REGISTRY, clearances, labels


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


@settings(max_examples=300)
@given(labels(), labels())
def test_join_of_a_label_and_an_upper_bound_is_the_upper_bound(a: Label, b: Label) -> None:
    # The least upper bound, where it is not vacuous: an upper bound built from the join.
    upper = join(a, b, join(a, b))
    assert upper.dominates(join(a, b)) and join(a, b).dominates(upper)


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


@settings(max_examples=300)
@given(labels(), labels())
def test_every_join_reads_back_from_its_markings(a: Label, b: Label) -> None:
    for label in (a, b, join(a, b)):
        assert REGISTRY.parse(REGISTRY.format(label, "fr")) == label
        assert REGISTRY.parse(REGISTRY.format(label, "en")) == label
        assert REGISTRY.parse(REGISTRY.canonical(label)) == label
        assert REGISTRY.parse_portion(REGISTRY.portion(label)) == label


@settings(max_examples=300)
@given(clearances(), labels(), labels())
def test_permits_is_monotone(clearance: Clearance, a: Label, b: Label) -> None:
    if clearance.permits(a).allowed and a.dominates(b):
        assert clearance.permits(b).allowed


@given(clearances(), labels(), labels())
def test_whoever_reads_a_join_reads_each_input(clearance: Clearance, a: Label, b: Label) -> None:
    if clearance.permits(join(a, b)).allowed:
        assert clearance.permits(a).allowed and clearance.permits(b).allowed


@given(clearances())
def test_a_clearance_permits_its_own_working_label(clearance: Clearance) -> None:
    assert clearance.permits(clearance.as_label()).allowed


@given(clearances())
def test_clearance_round_trip(clearance: Clearance) -> None:
    assert REGISTRY.parse_clearance(REGISTRY.format_clearance(clearance)) == clearance


@given(labels(("FR",)))
def test_a_french_label_always_releases_to_france(a: Label) -> None:
    released = a.releasable_to("REL TO")
    assert released is None or "FRA" in released
    if a.level >= 1:
        assert released is not None


@given(labels(("NATO",)))
def test_nato_labels_get_no_originator_restriction(a: Label) -> None:
    rebuilt = Label(policy=a.policy, level=a.level, compartments=a.compartments)
    assert rebuilt.releasable == ()


def test_rel_to_is_intersected() -> None:
    a = REGISTRY.parse("NATO SECRET REL TO FRA, DEU")
    b = REGISTRY.parse("NATO SECRET REL TO FRA, GBR")
    assert REGISTRY.format(join(a, b)) == "NATO SECRET REL TO FRA"


def test_cross_policy_join_keeps_the_nato_origin() -> None:
    joined = join(REGISTRY.parse("SECRET SPÉCIAL FRANCE"), REGISTRY.parse("NATO CONFIDENTIAL"))
    assert REGISTRY.format(joined, "en") == "NATO SECRET REL TO FRA"
    assert joined.dominates(REGISTRY.parse("SECRET"))


def test_fr_levels_map_to_their_nato_equivalents_keeping_originator_control() -> None:
    pairs = {
        "NON PROTÉGÉ": "NATO UNCLASSIFIED",
        "DIFFUSION RESTREINTE": "NATO RESTRICTED REL TO FRA",
        "SECRET": "NATO SECRET REL TO FRA",
        "TRÈS SECRET": "COSMIC TOP SECRET REL TO FRA",
        "SECRET REL TO DEU": "NATO SECRET REL TO DEU, FRA",
    }
    for fr, nato in pairs.items():
        assert REGISTRY.parse(fr).expressed_in(NATO) == REGISTRY.parse(nato)
    assert REGISTRY.parse("SECRET").dominates(REGISTRY.parse("NATO CONFIDENTIAL"))
    assert not REGISTRY.parse("DR").dominates(REGISTRY.parse("NATO CONFIDENTIAL"))
