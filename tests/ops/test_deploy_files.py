"""The Grafana dashboard and the Prometheus rules only use metrics that /metrics exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
_METRIC = re.compile(r"\b(mc_[a-z0-9_]+)")
_SUFFIXES = ("_bucket", "_count", "_sum")


def metric_names(expressions: list[str]) -> set[str]:
    names = set()
    for expr in expressions:
        for name in _METRIC.findall(expr):
            for suffix in _SUFFIXES:
                if name.endswith(suffix):
                    name = name[: -len(suffix)]
            names.add(name)
    return names


def alert_rules() -> list[dict]:
    document = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "mission-control.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


@pytest.fixture
def exported(client, db) -> str:
    return client.get("/metrics").content.decode()


def test_alert_rules_cover_readiness_dead_letters_latency_and_backup_age():
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert "readyz" in rules["MissionControlNotReady"]["expr"]
    assert "mc_webhook_dead_letters" in rules["MissionControlDeadLettersGrowing"]["expr"]
    assert "histogram_quantile(0.99" in rules["MissionControlHighLatencyP99"]["expr"]
    assert "mc_backup_age_seconds > 26 * 3600" in rules["MissionControlBackupTooOld"]["expr"]
    assert all(rule.get("annotations", {}).get("summary") for rule in rules.values())


def test_every_metric_in_the_alert_rules_and_the_dashboard_is_exported(exported):
    used = metric_names([rule["expr"] for rule in alert_rules()] + dashboard_expressions())
    assert len(used) >= 12
    missing = sorted(name for name in used if f"# TYPE {name} " not in exported)
    assert missing == []
