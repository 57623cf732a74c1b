"""The soak's verdicts (bench.soak): the RSS growth bound at its boundary and the percentiles.
The soak itself is a bench entry (minutes long), not a test."""

from bench.soak import RSS_GROWTH_MB, percentiles, rss_checks


def test_it_passes_a_process_that_grows_just_under_the_bound():
    (row,) = rss_checks({"gunicorn 1": 500.0}, {"gunicorn 1": 500.0 + RSS_GROWTH_MB - 0.1})
    assert row["ok"] is True


def test_it_fails_a_process_that_grows_by_the_bound_and_more_than_30_percent():
    (row,) = rss_checks({"gunicorn 1": 100.0}, {"gunicorn 1": 100.0 + RSS_GROWTH_MB})
    assert row["ok"] is False and row["growth_percent"] == 50.0


def test_it_passes_a_small_process_that_grows_by_less_than_30_percent_of_itself():
    (row,) = rss_checks({"nginx 1": 10.0}, {"nginx 1": 12.9})
    assert row["ok"] is True


def test_it_fails_a_process_that_exited_during_the_soak():
    (row,) = rss_checks({"celery-deliveries 7": 100.0}, {})
    assert row["ok"] is False and row["end_mb"] is None


def test_it_reports_p50_and_p99_from_the_sorted_latencies():
    figures = percentiles([n / 1000 for n in range(100, 0, -1)])
    assert figures == {"requests": 100, "p50_ms": 51.0, "p99_ms": 100.0, "max_ms": 100.0}
