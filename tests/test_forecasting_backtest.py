"""The backtest CLI runs on a small slice of the bakery data, prints valid JSON, and beats the naive."""

from __future__ import annotations

import json

import pytest

from siprems.forecasting import backtest


@pytest.mark.skipif(not backtest.DEFAULT_CSV.exists(), reason="shared bakery data not available")
def test_backtest_json_small_slice(capsys):
    rc = backtest.main(["--groups", "1", "--from", "2017-06-01", "--to", "2017-07-01", "--json"])
    assert rc == 0
    out = capsys.readouterr().out
    res = json.loads(out)  # exactly one JSON object
    assert set(res["aggregate"]) == {"7", "28"}
    for h in ("7", "28"):
        agg = res["aggregate"][h]
        for key in ("mase", "smape", "wape", "coverage95", "fit_seconds_median"):
            assert isinstance(agg[key], float)
        naive = res["baseline_seasonal_naive"][h]
        # group 1, June 2017: the engine ~0.56, the weekly seasonal naive ~0.80
        assert agg["mase"] < 0.85 * naive["mase"]
        assert agg["wape"] < naive["wape"]
        assert 85.0 <= agg["coverage95"] <= 100.0  # 5 windows: a loose band around 95%
    assert res["series"] and res["series"][0]["series"] == "1"
    assert res["protocol"]["windows"] == 5  # origins 06-01 .. 06-29 every 7 days


@pytest.mark.skipif(not backtest.DEFAULT_CSV.exists(), reason="shared bakery data not available")
def test_backtest_text_output_and_subcommand_word(capsys):
    rc = backtest.main(
        ["backtest", "--groups", "2", "--from", "2017-06-26", "--to", "2017-07-03", "--horizons", "7", "--workers", "1"]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "aggregate" in out and "h7" in out and "naive" in out


def test_backtest_bad_arguments():
    assert backtest.main(["--from", "not-a-date"]) == 2
    assert backtest.main(["--csv", "/nonexistent.csv"]) == 2


def test_origins_bounded_by_longest_window():
    import datetime as dt

    o = backtest.origins(dt.date(2017, 7, 1), dt.date(2017, 7, 31), 7, dt.date(2017, 7, 31), 28)
    assert o == [dt.date(2017, 7, 1)]
