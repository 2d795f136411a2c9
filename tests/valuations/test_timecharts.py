"""Time charts: gridlines on round numbers, labels people read, every figure kept."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from valuations import timecharts

D = Decimal


@pytest.mark.parametrize(
    ("value", "step", "label"),
    [
        ("0", "500", "$0"),
        ("950", "50", "$950"),
        ("1000", "500", "$1k"),
        ("1500", "500", "$1.5k"),
        ("7250", "250", "$7.25k"),
        ("2300000", "100000", "$2.3M"),
        ("84000000000", "2000000000", "$84B"),
        ("1520000000000", "10000000000", "$1.52T"),
        ("1.5", "0.1", "$1.50"),
        ("0.0062", "0.0002", "$0.0062"),
        ("-1500", "500", "-$1.5k"),
    ],
)
def test_gridline_labels_are_short_human_dollars(value, step, label):
    assert timecharts.axis_usd(D(value), D(step)) == label


@pytest.mark.parametrize(
    ("low", "high", "labels"),
    [
        # $910–$2,590 after the 6 % margins: $500 steps, the fewest ≤ 6 lines.
        ("1000", "2500", ["$1k", "$1.5k", "$2k", "$2.5k"]),
        ("18072", "76016", ["$20k", "$30k", "$40k", "$50k", "$60k", "$70k"]),
        # All at or above 0: the margin stops at 0.
        ("0", "100", ["$0", "$20", "$40", "$60", "$80", "$100"]),
        # A flat line keeps 10 % of its value either side.
        ("500", "500", ["$460", "$480", "$500", "$520", "$540"]),
    ],
)
def test_gridlines_fall_on_round_steps_inside_the_values(low, high, labels):
    chart = timecharts.history_chart(
        [
            (date(2026, 1, 1), D(low), D(low), 0, False),
            (date(2026, 1, 2), D(high), D(high), 0, False),
        ]
    )

    assert [t.label for t in chart.plots[0].y_ticks] == labels


@pytest.mark.parametrize(
    ("first", "last", "labels"),
    [
        (
            date(2026, 4, 1),
            date(2026, 4, 29),
            ["1 Apr", "8 Apr", "15 Apr", "22 Apr", "29 Apr"],
        ),
        (
            date(2025, 5, 1),
            date(2026, 4, 30),
            ["Jul 2025", "Oct 2025", "Jan 2026", "Apr 2026"],
        ),
        (date(2023, 4, 1), date(2026, 4, 29), ["Jan 2024", "Jan 2025", "Jan 2026"]),
        (date(2026, 1, 10), date(2026, 5, 20), ["Feb", "Mar", "Apr", "May"]),
    ],
)
def test_dates_on_the_axis_are_round_and_few(first, last, labels):
    chart = timecharts.history_chart(
        [(first, D(1), D(1), 0, False), (last, D(2), D(1), 0, False)]
    )

    assert [t.label for t in chart.plots[0].x_ticks] == labels


def test_benchmark_days_before_its_first_price_have_no_point_and_a_dash():
    chart = timecharts.history_chart(
        [
            (date(2026, 1, 1), D(100), D(100), 0, False),
            (date(2026, 1, 2), D(110), D(100), 0, False),
            (date(2026, 1, 3), D(120), D(100), 0, False),
        ],
        [None, D(100), D(130)],
        benchmark_label="The same money in Bitcoin",
    )

    benchmark = chart.plots[0].lines[2]
    assert benchmark.key == "benchmark"
    assert len(benchmark.points.split()) == 2
    assert chart.rows[0].cells == ["$100.00", "$100.00", "—"]
    assert chart.rows[0].ys.split()[2] == "-"  # the cursor hides its dot that day


def test_a_benchmark_with_no_known_day_gets_no_line_or_column():
    chart = timecharts.history_chart(
        [
            (date(2026, 1, 1), D(100), D(100), 0, False),
            (date(2026, 1, 2), D(110), D(100), 0, False),
        ],
        [None, None],
    )

    assert [line.key for line in chart.plots[0].lines] == ["value", "invested"]
    assert [c.label for c in chart.columns] == ["Value", "Net invested"]


def test_tier_mix_leaves_out_buckets_never_held_and_says_when_nothing_was():
    labels = {"large": "Large cap", "mid": "Mid cap", "stable": "Stablecoins"}
    chart = timecharts.tier_area_chart(
        [
            (date(2026, 1, 1), {"large": D(0), "mid": D(0), "stable": D(0)}),
            (date(2026, 1, 2), {"large": D(75), "mid": D(0), "stable": D(25)}),
        ],
        labels,
    )

    plot = chart.plots[0]
    assert [b.key for b in plot.bands] == ["large", "stable"]
    # 75 % of 180 px: the large band's top is 45 px from the top on 2 January.
    assert plot.bands[0].points == "0,180 1000,45 1000,180 0,180"
    assert plot.bands[1].points == "0,180 1000,0 1000,45 0,180"
    assert [t.label for t in plot.y_ticks] == [
        "0 %",
        "20 %",
        "40 %",
        "60 %",
        "80 %",
        "100 %",
    ]
    assert plot.summary == (
        "Tier mix from 1 Jan 2026 to 2 Jan 2026: nothing held on 1 Jan 2026; "
        "large cap 75.0 %, stablecoins 25.0 % on 2 Jan 2026."
    )


def test_asset_chart_draws_price_and_cap_on_one_time_axis():
    taken = [datetime(2026, 4, d, 12, tzinfo=UTC) for d in (1, 2, 3)]
    chart = timecharts.asset_chart(
        [
            (taken[0], D("1"), D("1000000")),
            (taken[1], D("1.5"), None),
            (taken[2], D("1.2"), D("1200000")),
        ]
    )

    assert [p.caption for p in chart.plots] == ["Price", "Market cap"]
    assert [p.summary for p in chart.plots] == [
        "Price rose from $1.00 on 1 Apr 2026 to $1.20 on 3 Apr 2026.",
        "Market cap rose from $1.00M on 1 Apr 2026 to $1.20M on 3 Apr 2026.",
    ]
    assert [r.cells for r in chart.rows] == [
        ["$1.00", "$1.00M"],
        ["$1.50", "—"],
        ["$1.20", "$1.20M"],
    ]
    assert [r.x for r in chart.rows] == [0.0, 50.0, 100.0]
    assert chart.note == "$1.00 – $1.50 · +20.0 % over the period"


def test_under_two_points_there_is_no_chart():
    day = date(2026, 1, 1)
    assert timecharts.history_chart([(day, D(1), D(1), 0, False)]) is None
    assert timecharts.tier_area_chart([(day, {"large": D(100)})], {}) is None
    assert (
        timecharts.asset_chart([(datetime(2026, 1, 1, tzinfo=UTC), D(1), None)]) is None
    )
