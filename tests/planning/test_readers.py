"""Problem files: the JSON schema, CSV and VRPLIB/Solomon readers, and their error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from egide.errors import InvalidInput
from egide.planning.codec import loads_problem, problem_from_dict, schema, schema_errors
from egide.planning.readers import read_problem

from .util import problem, solved, xy

VRP = Path(__file__).parents[2] / ".." / "shared" / "data" / "vrp"
DOC = Path(__file__).parents[2] / "docs" / "planning.md"


def documented_example() -> dict[str, object]:
    """The full example of docs/planning.md (its first ```json block)."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("```json\n", 1)[1].split("```", 1)[0]
    return json.loads(block)  # type: ignore[no-any-return]


def test_the_documented_example_follows_the_schema_and_solves() -> None:
    data = documented_example()
    assert schema_errors(data) == []
    p = problem_from_dict(data)
    assert p.coordinates == "latlon" and len(p.dimensions) == 4
    s = solved(p, iterations=3000)
    assert {u.demand for u in s.unserved} <= {d.id for d in p.demands if d.optional}


def test_json_round_trip_is_exact() -> None:
    p = problem(
        [
            {
                "location": xy(1, 2),
                "quantities": {"load": 3},
                "window": {"start": 1, "end": 9},
                "priority": True,
            }
        ],
        matrix={"distance": [[0, 1], [1, 0]], "duration": [[0, 2], [2, 0]]},
    )
    assert problem_from_dict(json.loads(json.dumps(p.to_dict()))) == p


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(InvalidInput, match="line 3, column 5"):
        loads_problem('{\n  "dimensions": ["fuel"],\n    oops\n}', "p.json")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (
            lambda d: d["demands"][0]["quantities"].update(fuel=-5),
            "$.demands[0].quantities.fuel: -5 is less than the minimum of 0",
        ),
        (
            lambda d: d["demands"][0].update(location={"lat": 95, "lon": 0}),
            "$.demands[0].location: a location is either",
        ),
        (
            lambda d: d["vehicles"][0].update(start_depot="Nowhere"),
            "$.vehicles[0].start_depot: no depot 'Nowhere' (depots: D)",
        ),
        (
            lambda d: d["demands"][0]["quantities"].update(petrol=1),
            "$.demands[0].quantities.petrol: unknown load dimension",
        ),
        (
            lambda d: d["demands"].append(dict(d["demands"][0])),
            "$.demands[1].id: id 'C1' is already used at $.demands[0].id",
        ),
        (lambda d: d.update(surprise=1), "Additional properties are not allowed"),
        (lambda d: d["depots"][0].update(location={"lat": 1, "lon": 1}), "mix of lat/lon and x/y"),
        (lambda d: d.update(matrix={"distance": [[0]]}), "$.matrix.distance: must be 2 x 2"),
    ],
)
def test_schema_and_reference_errors_name_the_path(change: object, needle: str) -> None:
    data = {
        "dimensions": ["fuel"],
        "depots": [{"id": "D", "location": xy(0, 0)}],
        "demands": [{"id": "C1", "location": xy(1, 0), "quantities": {"fuel": 1}}],
        "vehicles": [{"id": "V", "start_depot": "D", "capacity": {"fuel": 5}}],
    }
    change(data)  # type: ignore[operator]
    with pytest.raises(InvalidInput) as caught:
        problem_from_dict(data, "p.json")
    assert needle in caught.value.message
    assert "egide plan schema" in caught.value.message


def test_schema_is_published_in_the_package() -> None:
    assert schema()["title"] == "Égide routing problem"
    assert {"dimensions", "depots", "demands", "vehicles"} == set(schema()["required"])


CSV = (
    (
        "type,id,lat,lon,window_start,window_end,service_time,priority,optional,prize,count,"
        "start_depot,fixed_cost,cost_per_distance,max_distance,load.fuel,load.water,pickup.water\n"
    )
    + """settings,,,,,,,,,,,,,,,,,
depot,FOB,48.0,2.0,0,600,,,,,,,,,,5000,1000,
demand,A,48.1,2.1,30,240,15,yes,,,,,,,,800,100,20
demand,B,48.05,2.2,,,10,,,,,,,,,300,,
demand,C,48.3,2.5,,,10,,yes,5,,,,,,,50,
vehicle,truck,,,,,,,,,2,FOB,100,1.2,300,2000,500,
"""
)


def test_csv_with_a_type_column(tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(CSV, encoding="utf-8")
    p = read_problem(path)
    assert p.dimensions == ("fuel", "water")
    assert p.depots[0].stock == {"fuel": 5000, "water": 1000}
    a = p.demands[0]
    assert (a.priority, a.window.end, a.pickup, a.quantities["fuel"]) == (
        True,
        240,
        {"water": 20},
        800,
    )
    assert p.vehicles[0].count == 2 and p.vehicles[0].max_distance == 300
    solved(p)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda t: t.replace("demand,B,48.05", "demand,B,north"), "line 5: column lat: 'north'"),
        (lambda t: t.replace("vehicle,truck", "lorry,truck"), "line 7: type 'lorry'"),
        (lambda t: t.replace("pickup.water", "colour"), "line 1: unknown column(s) colour"),
        (lambda t: t.replace(",2,FOB,", ",2,HQ,"), "line 7.start_depot: no depot 'HQ'"),
        (lambda t: t.replace("800,100,20", "-800,100,20"), "line 4.quantities.fuel: -800"),
    ],
)
def test_csv_errors_name_the_line(tmp_path: Path, edit: object, needle: str) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(edit(CSV), encoding="utf-8")  # type: ignore[operator]
    with pytest.raises(InvalidInput) as caught:
        read_problem(path)
    assert needle in caught.value.message


def test_vrplib_cvrp_reaches_the_known_optimum() -> None:
    p = read_problem(VRP / "E-n22-k4.txt")
    assert p.rounding == "round" and len(p.demands) == 21
    s = solved(p, iterations=8000)
    assert s.cost == pytest.approx(375.0)


def test_vrplib_vrptw_with_dimacs_distances() -> None:
    p = read_problem(VRP / "RC208.vrp")
    assert p.rounding == "dimacs" and p.demands[0].window.end is not None
    s = solved(p, iterations=5000)
    assert 776.1 - 1e-6 <= s.cost <= 776.1 * 1.06  # never below the best known


def test_vrplib_backhauls_become_pickups() -> None:
    p = read_problem(VRP / "X-n101-50-k13.vrp")
    assert any(d.pickup.get("load") for d in p.demands)
    solved(p, iterations=2000)


SOLOMON = """C101-mini

VEHICLE
NUMBER     CAPACITY
   2         200

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      40         50          0          0       1236          0
    1      45         68         10        912        967         90
    2      45         70         30        825        870         90
    3      42         66         10         65        146         90
"""


def test_solomon_text_format(tmp_path: Path) -> None:
    path = tmp_path / "c101-mini.txt"
    path.write_text(SOLOMON, encoding="utf-8")
    p = read_problem(path)
    assert len(p.demands) == 3 and p.vehicles[0].count == 2
    assert p.demands[0].window.start == 912 and p.demands[0].service_time == 90
    solved(p)


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("x.vrp", "NAME : broken\nDIMENSION : 3\nNODE_COORD_SECTION\n1 0\n", "x.vrp"),
        ("x.xlsx", "whatever", "unknown format"),
        ("x.json", "\xff", "no such file"),
    ],
)
def test_unreadable_files_are_refused(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    if needle != "no such file":
        path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=needle):
        read_problem(path)


def test_schema_errors_in_a_json_file_also_give_the_line() -> None:
    def line_named(data: dict[str, object], path: str) -> str:
        text = json.dumps(data, indent=2)
        with pytest.raises(InvalidInput) as caught:
            loads_problem(text, "p.json")
        number = int(caught.value.message.split(f"{path} (line ")[1].split(")")[0])
        return text.splitlines()[number - 1].strip()

    data = documented_example()
    data["demands"][3]["quantities"]["fuel"] = -1  # type: ignore[index]
    assert line_named(data, "$.demands[3].quantities.fuel") == '"fuel": -1'
    data = documented_example()
    data["vehicles"][1]["start_depot"] = "HQ"  # type: ignore[index]
    assert line_named(data, "$.vehicles[1].start_depot") == '"start_depot": "HQ",'


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"dimensions": [NaN]}', "NaN is not a number JSON allows"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"dimensions": ["fuel"], "depots": [], "demands": [], "vehicles": []}', "non-empty"),
        ("[]", "is not of type 'object'"),
    ],
)
def test_hostile_json_is_refused_in_one_line(text: str, needle: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        loads_problem(text, "p.json")
    assert needle in caught.value.message and "\n" not in caught.value.message


def test_non_finite_and_huge_numbers_in_a_dict_are_refused() -> None:
    data = {
        "dimensions": ["fuel"],
        "depots": [{"id": "D", "location": xy(0, 0)}],
        "demands": [{"id": "C", "location": xy(float("inf"), 0)}],
        "vehicles": [{"id": "V", "start_depot": "D", "capacity": {"fuel": 1e300}}],
    }
    with pytest.raises(InvalidInput, match=r"\$\.demands\[0\]\.location\.x: inf"):
        problem_from_dict(data)
    data["demands"] = []
    with pytest.raises(InvalidInput, match=r"capacity\.fuel: 1e\+300 is greater than"):
        problem_from_dict(data)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda s: s["routes"][0]["stops"][0].update(arrival="soon"),
        lambda s: s["routes"][0].update(stops=[{"demand": "C1"}]),
        lambda s: s.update(routes="none"),
        lambda s: s.update(gap_to_bound="small"),
        lambda s: s["routes"][0]["stops"][0].update(delivered=[1, 2]),
    ],
)
def test_a_malformed_plan_file_is_refused(corrupt: object) -> None:
    from egide.planning.codec import loads_plan, plan_document

    p = problem([{"location": xy(1, 0)}])
    document = plan_document(p, solved(p))
    corrupt(document["solution"])  # type: ignore[operator]
    with pytest.raises(InvalidInput, match="solution part is incomplete or malformed"):
        loads_plan(json.dumps(document))
