"""Hand-made instances whose optimum is known, solved and checked by the validator."""

from __future__ import annotations

import pytest

from egide.planning.model import Location, haversine_km

from .util import problem, solved, stops, xy


def test_square_tour_is_its_perimeter() -> None:
    p = problem([{"location": xy(10, 0)}, {"location": xy(10, 10)}, {"location": xy(0, 10)}])
    s = solved(p)
    assert s.cost == pytest.approx(40.0)
    assert s.status == "complete" and not s.unserved
    assert s.gap_to_bound is None and "unknown" in s.bound_note


def test_capacity_splits_the_load_and_counts_fixed_costs() -> None:
    p = problem(
        [
            {"location": xy(10, 0), "quantities": {"load": 6}},
            {"location": xy(-10, 0), "quantities": {"load": 6}},
        ],
        vehicles=[
            {"id": "V", "count": 2, "start_depot": "D", "capacity": {"load": 10}, "fixed_cost": 100}
        ],
    )
    s = solved(p)
    assert len(s.routes) == 2
    assert s.cost == pytest.approx(240.0)
    assert s.cost_breakdown["fixed"] == pytest.approx(200.0)
    assert {r.vehicle for r in s.routes} == {"V#1", "V#2"}
    for route in s.routes:
        assert route.initial_load["load"] == 6 and route.stops[-1].load_after["load"] == 0


def test_time_windows_dictate_the_order() -> None:
    # Geometry alone says A then B; B's window closes before the vehicle could reach it second.
    p = problem(
        [
            {"location": xy(10, 0), "window": {"start": 50, "end": 100}},
            {"location": xy(20, 0), "window": {"start": 0, "end": 25}},
        ],
    )
    s = solved(p)
    assert stops(s)["V"] == ["C2", "C1"]
    first, second = s.routes[0].stops
    assert first.arrival <= 25.0 + 1e-9
    assert second.arrival == pytest.approx(first.departure + 10) and second.start == 50.0
    assert s.cost == pytest.approx(40.0)


def test_several_load_dimensions_need_the_right_vehicle() -> None:
    p = problem(
        [
            {"location": xy(10, 0), "quantities": {"fuel": 500}},
            {"location": xy(0, 10), "quantities": {"water": 400, "rations": 20}},
        ],
        vehicles=[
            {"id": "tanker", "start_depot": "D", "capacity": {"fuel": 1000}},
            {"id": "cargo", "start_depot": "D", "capacity": {"water": 500, "rations": 50}},
        ],
        dimensions=("fuel", "water", "rations"),
    )
    s = solved(p)
    by_type = {r.vehicle_type: [x.demand for x in r.stops] for r in s.routes}
    assert by_type == {"tanker": ["C1"], "cargo": ["C2"]}
    assert s.routes[0].stops[0].load_after == {"fuel": 0, "water": 0, "rations": 0}


def test_several_depots_serve_their_neighbourhoods() -> None:
    p = problem(
        [
            {"location": xy(1, 0)},
            {"location": xy(2, 0)},
            {"location": xy(99, 0)},
            {"location": xy(98, 0)},
        ],
        depots=[{"id": "W", "location": xy(0, 0)}, {"id": "E", "location": xy(100, 0)}],
        vehicles=[
            {"id": "west", "start_depot": "W", "capacity": {"load": 9}},
            {"id": "east", "start_depot": "E", "capacity": {"load": 9}},
        ],
    )
    s = solved(p)
    assert s.cost == pytest.approx(8.0)
    assert sorted(stops(s)["west"]) == ["C1", "C2"]


def test_heterogeneous_fleet_uses_the_cheaper_vehicle() -> None:
    p = problem(
        [{"location": xy(10, 0), "quantities": {"load": 5}}],
        vehicles=[
            {"id": "big", "start_depot": "D", "capacity": {"load": 50}, "cost_per_distance": 3},
            {"id": "small", "start_depot": "D", "capacity": {"load": 5}, "cost_per_distance": 1.5},
        ],
    )
    s = solved(p)
    assert [r.vehicle for r in s.routes] == ["small"]
    assert s.cost == pytest.approx(30.0)


def test_range_forces_two_routes() -> None:
    p = problem(
        [{"location": xy(10, 0)}, {"location": xy(0, 10)}],
        vehicles=[
            {"id": "V", "count": 2, "start_depot": "D", "capacity": {"load": 9}, "max_distance": 25}
        ],
    )
    s = solved(p)
    assert len(s.routes) == 2 and s.cost == pytest.approx(40.0)


def test_maximum_duration_forces_two_routes() -> None:
    p = problem(
        [{"location": xy(10, 0), "service_time": 5}, {"location": xy(0, 10), "service_time": 5}],
        vehicles=[
            {"id": "V", "count": 2, "start_depot": "D", "capacity": {"load": 9}, "max_duration": 30}
        ],
    )
    s = solved(p)
    assert len(s.routes) == 2 and all(r.duration <= 30 + 1e-6 for r in s.routes)


def test_optional_demands_are_served_when_their_prize_pays() -> None:
    p = problem(
        [
            {"location": xy(10, 0)},
            {"location": xy(10, 1), "optional": True, "prize": 50},
            {"location": xy(-100, 0), "optional": True, "prize": 50},
        ],
    )
    s = solved(p)
    assert stops(s)["V"] in (["C1", "C2"], ["C2", "C1"])
    assert [(u.demand, u.code) for u in s.unserved] == [("C3", "not_worth_it")]
    assert s.status == "complete"
    assert s.cost_breakdown["forgone_prizes"] == 50


def test_priority_demands_win_when_the_fleet_is_short() -> None:
    p = problem(
        [
            {"location": xy(1, 0), "quantities": {"load": 8}},
            {"location": xy(50, 0), "quantities": {"load": 8}, "priority": True},
        ],
        vehicles=[{"id": "V", "start_depot": "D", "capacity": {"load": 10}}],
    )
    s = solved(p)
    assert stops(s)["V"] == ["C2"]
    assert s.status == "partial"
    (left,) = s.unserved
    assert left.demand == "C1" and left.code == "fleet_exhausted"
    assert "it needs 8 load, the most any vehicle has left is 2" in left.reason
    assert "fleet short of load: 16 needed, the fleet carries 10" in left.reason


def test_a_normal_demand_squeezed_out_by_time_says_so() -> None:
    p = problem(
        [
            {"location": xy(50, 0), "window": {"start": 50, "end": 55}},
            {"location": xy(-50, 0), "window": {"start": 50, "end": 55}, "priority": True},
        ],
    )
    s = solved(p)
    assert stops(s)["V"] == ["C2"] and s.status == "partial"
    (left,) = s.unserved
    assert "cannot reach it within its window" in left.reason


def test_latlon_uses_great_circle_kilometres_and_speed() -> None:
    paris, lyon = Location(x=2.3522, y=48.8566), Location(x=4.8357, y=45.764)
    assert haversine_km(paris, lyon) == pytest.approx(392, abs=3)
    p = problem(
        [{"location": {"lat": 45.764, "lon": 4.8357}}],
        depots=[{"id": "D", "location": {"lat": 48.8566, "lon": 2.3522}}],
        speed=60,
    )
    s = solved(p)
    assert s.cost == pytest.approx(2 * haversine_km(paris, lyon))
    assert s.routes[0].stops[0].arrival - s.routes[0].departure == pytest.approx(
        haversine_km(paris, lyon), abs=0.02
    )
    assert any("60 km/h" in a for a in s.assumptions)


def test_given_matrix_is_used_as_is() -> None:
    p = problem(
        [{"location": xy(0, 0)}, {"location": xy(0, 0)}],
        matrix={"distance": [[0, 5, 7], [5, 0, 1], [7, 1, 0]]},
    )
    s = solved(p)
    assert s.cost == pytest.approx(13.0)


def test_empty_problem_gives_an_empty_plan() -> None:
    s = solved(problem([]))
    assert s.routes == () and s.cost == 0 and s.status == "complete"


def test_generated_military_instance_is_planned_and_valid() -> None:
    from egide.planning.generate import military_instance

    p = military_instance(stops=60, depots=2, seed=4)
    assert military_instance(stops=60, depots=2, seed=4) == p
    s = solved(p, iterations=2000)
    assert s.status == "complete"
    assert all(d.optional for d in p.demands if d.id in {u.demand for u in s.unserved})
