"""The chart's alerts and dashboard: the rules checked and unit-tested with the real promtool (Debian's
`prometheus` package, extracted by `.ci/tools.sh`), each alert firing and clearing
(tests/ship/alerts_test.yaml); the dashboard loads and uses only metrics the operator exports; both are
rendered by the chart only when asked, from the same files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from erpsync.controller import metrics
from tests.ship.helm import CHART, REPO, Helm, of_kind, only

RULES = CHART / "files" / "prometheus-rules.yaml"
DASHBOARD = CHART / "files" / "grafana-dashboard.json"
UNIT_TESTS = REPO / "tests" / "ship" / "alerts_test.yaml"
ALERTS = ("ErpSyncSyncFailing", "ErpSyncSyncOverdue", "ErpSyncOperatorDown", "ErpSyncReconcileErrors")
METRIC_NAME = re.compile(r"\berpsync_[a-z_]+\b")
PROMTOOL = REPO / ".tools" / "prometheus" / "promtool"


def promtool() -> str:
    """The promtool `.ci/tools.sh` extracts (or one on PATH); fails, never skips, without one."""
    if os.access(PROMTOOL, os.X_OK):
        return str(PROMTOOL)
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(f"promtool is missing: run .ci/tools.sh (or `make tools`), which extracts it to {PROMTOOL}")
    return found


def run_promtool(*args: str) -> str:
    result = subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed ({result.returncode}):\n{output}"
    return output


def rules() -> list[dict[str, Any]]:
    (group,) = yaml.safe_load(RULES.read_text())["groups"]
    return list(group["rules"])


def test_promtool_checks_the_rules() -> None:
    assert "SUCCESS: 4 rules found" in run_promtool("check", "rules", str(RULES))


def test_promtool_unit_tests_pass() -> None:
    assert "SUCCESS" in run_promtool("test", "rules", str(UNIT_TESTS))


def test_each_alert_is_tested_firing_and_clearing() -> None:
    assert tuple(rule["alert"] for rule in rules()) == ALERTS
    cases = [case for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]
    for alert in ALERTS:
        times = [(case["eval_time"], bool(case["exp_alerts"])) for case in cases if case["alertname"] == alert]
        assert any(fires for _, fires in times), f"{alert}: no test where it fires"
        assert any(not fires for _, fires in times), f"{alert}: no test where it is quiet or clears"


def test_the_rules_use_only_metrics_the_operator_exports() -> None:
    used = {name for rule in rules() for name in METRIC_NAME.findall(rule["expr"])}
    assert used and used <= metrics.exported_names(), used - metrics.exported_names()


def test_the_dashboard_loads_and_uses_only_metrics_the_operator_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert {"title", "uid", "panels", "templating", "schemaVersion", "time"} <= dashboard.keys()
    panels = dashboard["panels"]
    titles = [panel["title"] for panel in panels]
    assert len(set(titles)) == len(titles) and len({panel["id"] for panel in panels}) == len(panels)
    expressions = [target["expr"] for panel in panels for target in panel["targets"]]
    expressions += [variable["definition"] for variable in dashboard["templating"]["list"] if "definition" in variable]
    used = {name for expression in expressions for name in METRIC_NAME.findall(expression)}
    assert used <= metrics.exported_names(), f"not exported by the operator: {used - metrics.exported_names()}"
    # Every metric the operator exports appears on it (a new metric gets a panel).
    families = {re.sub(r"_(bucket|sum|count)$", "", name) for name in metrics.exported_names()}
    assert families <= {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
    for title in ("Syncs whose last run failed", "Time since the last success", "Records synced by kind and outcome"):
        assert title in titles


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm.make("helm4", tmp_path_factory.mktemp("helm-alerts"))


def test_neither_is_rendered_by_default(helm: Helm) -> None:
    objects = helm.template({})
    assert not of_kind(objects, "PrometheusRule")
    assert not [obj for obj in of_kind(objects, "ConfigMap") if "grafana_dashboard" in obj["metadata"]["labels"]]


def test_the_chart_renders_the_rules_file_with_the_service_monitors_job(helm: Helm) -> None:
    values = {
        "metrics": {"serviceMonitor": {"enabled": True}},
        "prometheusRule": {"enabled": True, "labels": {"release": "prometheus"}},
    }
    objects = helm.template(values)
    rule = only(objects, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "prometheus"
    # The Prometheus Operator names a ServiceMonitor's job after the Service it selects.
    (job,) = [
        obj["metadata"]["name"] for obj in of_kind(objects, "Service") if obj["metadata"]["name"].endswith("-metrics")
    ]
    expected = yaml.safe_load(RULES.read_text().replace('job="erp-sync-operator-metrics"', f'job="{job}"'))
    assert rule["spec"] == expected
    other = only(helm.template({**values, "prometheusRule": {"enabled": True, "job": "erp"}}), "PrometheusRule")
    assert 'absent(up{job="erp"} == 1)' in {r["expr"] for r in other["spec"]["groups"][0]["rules"]}


def test_the_chart_renders_the_dashboard_for_grafanas_sidecar(helm: Helm) -> None:
    values = {
        "grafanaDashboard": {"enabled": True, "namespace": "monitoring", "annotations": {"grafana_folder": "ERP"}}
    }
    (config_map,) = [
        obj for obj in of_kind(helm.template(values), "ConfigMap") if obj["metadata"]["name"].endswith("-dashboard")
    ]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["namespace"] == "monitoring"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "ERP"}
    (text,) = config_map["data"].values()
    assert json.loads(text) == json.loads(DASHBOARD.read_text())
