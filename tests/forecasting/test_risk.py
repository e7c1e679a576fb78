"""Risk ranking: ordered by failure probability, drivers from importance × deviation, SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from egide.errors import InvalidInput
from egide.forecasting.risk import _of, rank, sensor_importance
from egide.forecasting.training import Trained, TrainingConfig, train
from tests.forecasting.fleet import fleet, in_service, lives

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def trained() -> Trained:
    return train(fleet(20, seed=11), TrainingConfig(rounds=30, folds=3))


def _fleet_in_service() -> tuple[dict[int, int], object]:
    full = fleet(6, seed=5, first_unit=100)
    life = lives(full)
    # Unit 100 and 101 are 5 and 12 cycles from failure; the others in early life.
    keep = {u: (life[u] - 5 if u == 100 else life[u] - 12 if u == 101 else 40) for u in life}
    return life, in_service(full, keep)


def test_units_near_failure_rank_first_with_their_evidence(trained: Trained) -> None:
    _, histories = _fleet_in_service()
    ranking = rank(trained.model, histories, horizon=30)  # type: ignore[arg-type]
    assert [u.rank for u in ranking.units] == list(range(1, 7))
    assert {u.unit for u in ranking.units[:2]} == {100, 101}
    p = [u.p_fail for u in ranking.units]
    assert p == sorted(p, reverse=True) and all(0 < x <= 1 for x in p)
    assert ranking.units[0].p_fail > 0.5 and ranking.units[-1].p_fail < 0.1
    for u in ranking.units:
        assert u.interval90[0] <= u.interval80[0] <= u.interval80[1] <= u.interval90[1]
        assert len(u.drivers) == 3
        # The constant sensor carries no information: never evidence.
        assert "flat" not in {d.sensor for d in u.drivers}
    # Near failure, the drivers sit well outside the healthy range.
    assert max(d.deviation for d in ranking.units[0].drivers) > 2
    table = "\n".join(ranking.lines())
    assert "p_fail" in table and " 100 " in table


def test_importance_is_a_share_per_sensor(trained: Trained) -> None:
    shares = sensor_importance(trained.model)
    # The constant sensor is dropped at training: it is not among the model's sensors.
    assert set(shares) == {"s1", "s2", "s3", "s4"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert all(v > 0 for v in shares.values())
    assert _of("s1_mean5", "s1") and _of("s1_drift", "s1") and _of("s1_slope10", "s1")
    assert not _of("s11_mean5", "s1") and not _of("s1_x_mean5", "s1")


def test_each_plot_is_well_formed_self_contained_svg(trained: Trained) -> None:
    _, histories = _fleet_in_service()
    ranking = rank(trained.model, histories, horizon=20)  # type: ignore[arg-type]
    assert set(ranking.plots) == {u.unit for u in ranking.units}
    for unit, text in ranking.plots.items():
        root = ET.fromstring(text.split("?>", 1)[1])
        assert root.tag == f"{SVG}svg"
        assert root.find(f"{SVG}title") is not None
        assert f"Unit {unit}" in root.find(f"{SVG}title").text  # type: ignore[union-attr]
        assert len(root.findall(f"{SVG}polyline")) == 3
        tags = {el.tag for el in root.iter()}
        assert not tags & {f"{SVG}image", f"{SVG}script", f"{SVG}style", f"{SVG}foreignObject"}
        # No reference to anything outside the file: the only URL is the namespace.
        assert text.count("http") == 1 and "href" not in text and "url(" not in text


def test_bad_horizon_and_short_history_are_explained(trained: Trained) -> None:
    _, histories = _fleet_in_service()
    with pytest.raises(InvalidInput, match="horizon 0 is outside"):
        rank(trained.model, histories, horizon=0)  # type: ignore[arg-type]
    short = in_service(fleet(2, seed=3, first_unit=7), {7: 3, 8: 50})
    with pytest.raises(InvalidInput, match="unit\\(s\\) 7 have fewer than"):
        rank(trained.model, short, horizon=30)
