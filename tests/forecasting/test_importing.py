"""Importing sensor histories: C-MAPSS text, CSV, Parquet; errors name the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from egide.errors import InvalidInput
from egide.forecasting.histories import describe
from egide.forecasting.importing import read_histories

LINE = "1 {c} 0.001 -0.0002 100.0 518.67 {s2:.2f} 1589.70\n"


def _cmapss(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "h.txt"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_cmapss_reads_units_cycles_settings_sensors(tmp_path: Path) -> None:
    lines = [LINE.format(c=c, s2=641 + c) for c in (2, 1, 3)]
    lines.append("2 1 0.0 0.0 100.0 518.67 640.00 1580.00  \n")
    h = read_histories(_cmapss(tmp_path, lines))
    assert h.units.tolist() == [1, 1, 1, 2]
    assert h.cycles.tolist() == [1, 2, 3, 1]  # sorted by cycle within the unit
    assert h.setting_names == ("setting_1", "setting_2", "setting_3")
    assert h.sensor_names == ("sensor_1", "sensor_2", "sensor_3")
    assert h.sensors[:3, 1].tolist() == [642.0, 643.0, 644.0]


def test_real_fd001_is_described() -> None:
    path = Path(__file__).parents[3] / "shared" / "data" / "cmapss" / "train_FD001.txt"
    d = describe(read_histories(path))
    assert (d.units, d.rows, d.cycles_min, d.cycles_max) == (100, 20631, 128, 362)
    assert d.constant_sensors == (
        "sensor_1",
        "sensor_5",
        "sensor_10",
        "sensor_16",
        "sensor_18",
        "sensor_19",
    )
    assert "constant sensors dropped" in d.lines()[1]


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("1 2 0.0 0.0 100.0 518.67 641.0\n", ":2: 7 columns where the first line has 8"),
        ("1 2 0.0 zero 100.0 518.67 641.0 1589.7\n", ":2: column 4: 'zero' is not a number"),
        ("1 1 0.0 0.0 100.0 518.67 641.0 1589.7\n", "lines 1 and 2: unit 1 has cycle 1 twice"),
        ("1.5 2 0.0 0.0 100.0 518.67 641.0 1589.7\n", "line 2: unit 1.5 is not a positive"),
        ("1 -3 0.0 0.0 100.0 518.67 641.0 1589.7\n", "line 2: cycle -3 is not a positive"),
        ("1 2 0.0 0.0 100.0 518.67 nan 1589.7\n", "line 2: sensor_2 is not a finite number"),
    ],
)
def test_cmapss_errors_name_the_line(tmp_path: Path, bad: str, needle: str) -> None:
    path = _cmapss(tmp_path, [LINE.format(c=1, s2=641.0), bad])
    with pytest.raises(InvalidInput) as caught:
        read_histories(path)
    assert needle in caught.value.message


def test_empty_unknown_missing_and_binary_files_are_refused(tmp_path: Path) -> None:
    for name, data, needle in [
        ("e.txt", b"\n\n", "empty"),
        ("h.xlsx", b"x", "unknown file type .xlsx"),
        ("b.txt", b"1 1 0 0 100 5\n\xff\xfe\x00\n", "b.txt:2: not UTF-8"),
        ("short.txt", b"1 1 0 0 100\n", "at least one sensor"),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InvalidInput, match=needle):
            read_histories(path)
    with pytest.raises(InvalidInput, match="no such file"):
        read_histories(tmp_path / "absent.csv")


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "h.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_cycles(tmp_path: Path) -> None:
    h = read_histories(
        _csv(tmp_path, "unit,cycle,setting_1,T24,P30\n7,2,0.1,642,47.2\n7,1,0.2,641,47.1\n")
    )
    assert h.units.tolist() == [7, 7] and h.cycles.tolist() == [1, 2]
    assert h.setting_names == ("setting_1",) and h.sensor_names == ("T24", "P30")
    assert h.sensors[0].tolist() == [641.0, 47.1]


def test_csv_timestamps_become_cycles_in_time_order(tmp_path: Path) -> None:
    text = (
        "timestamp,unit,op_setting_alt,oil_temp\n"
        "2026-05-14T08:00:00,3,1.0,80\n"
        "2026-05-14T06:00:00,3,1.0,78\n"
        "2026-05-13T06:00:00,4,2.0,70\n"
        "2026-05-14T07:00:00,3,1.0,79\n"
    )
    h = read_histories(_csv(tmp_path, text))
    assert h.units.tolist() == [3, 3, 3, 4]
    assert h.cycles.tolist() == [1, 2, 3, 1]
    assert h.sensors[:, 0].tolist() == [78.0, 79.0, 80.0, 70.0]
    assert h.setting_names == ("op_setting_alt",)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("cycle,s1\n1,2\n", "line 1: no 'unit' column"),
        ("unit,s1\n1,2\n", "exactly one of 'cycle' or 'timestamp'"),
        ("unit,cycle,timestamp,s1\n1,1,2026-01-01,2\n", "exactly one of 'cycle' or 'timestamp'"),
        ("unit,cycle,setting_1\n1,1,2\n", "no sensor columns"),
        ("unit,cycle,s1,S1\n1,1,2,3\n", "column 's1' appears twice"),
        ("unit,cycle,s1\n1,1,2\n1,2,\n", "h.csv:3: column 's1': missing value"),
        ("unit,cycle,s1\n1,1,2\n1,2,hot\n", "h.csv:3: column 's1': 'hot' is not a number"),
        ("unit,timestamp,s1\n1,yesterday,2\n", "line 2: timestamp 'yesterday' is not ISO 8601"),
        ("unit,cycle,s1\n", "a header but no rows"),
        ("", "empty"),
    ],
)
def test_csv_errors(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read_histories(_csv(tmp_path, text))
    assert needle in caught.value.message


def test_csv_field_count_error_counts_fields(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"h.csv:3: 4 fields where the header has 3"):
        read_histories(_csv(tmp_path, "unit,cycle,s1\n1,1,2\n1,2,3,4\n"))


def test_parquet_reads_and_refuses_nulls(tmp_path: Path) -> None:
    path = tmp_path / "h.parquet"
    table = pa.table(
        {
            "unit": [1, 1, 2],
            "cycle": [1, 2, 1],
            "setting_1": [0.0, 0.0, 0.0],
            "T24": [1.0, 2.0, 3.0],
        }
    )
    pq.write_table(table, path)
    h = read_histories(path)
    assert h.units.tolist() == [1, 1, 2] and h.sensors[:, 0].tolist() == [1.0, 2.0, 3.0]

    pq.write_table(table.set_column(3, "T24", pa.array([1.0, None, 3.0])), path)
    with pytest.raises(InvalidInput, match="row 2, column 'T24': missing value"):
        read_histories(path)
    pq.write_table(table.set_column(3, "T24", pa.array(["a", "b", "c"])), path)
    with pytest.raises(InvalidInput, match="column 'T24' has type string"):
        read_histories(path)
    path.write_bytes(b"not parquet at all")
    with pytest.raises(InvalidInput, match="not a readable Parquet file"):
        read_histories(path)


def test_missing_sensor_is_named(tmp_path: Path) -> None:
    h = read_histories(_csv(tmp_path, "unit,cycle,s1\n1,1,2\n"))
    with pytest.raises(InvalidInput, match="missing sensor column"):
        h.sensor_matrix(["s1", "s9"])
    assert np.array_equal(h.sensor_matrix(["s1"]), [[2.0]])
