"""Logging in from a Pod: the kubelet's KUBERNETES_SERVICE_HOST/PORT, as client-go reads them."""

from pathlib import Path

import kopf
import pytest

from erpsync.controller.in_cluster import CLUSTER_DNS_SERVER, api_server_url, login_in_cluster


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}, "https://10.96.0.1:443"),
        ({"KUBERNETES_SERVICE_HOST": "fd00:10:96::1", "KUBERNETES_SERVICE_PORT": "443"}, "https://[fd00:10:96::1]:443"),
        ({"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, CLUSTER_DNS_SERVER),
        ({}, CLUSTER_DNS_SERVER),
    ],
)
def test_api_server_url(env: dict[str, str], url: str) -> None:
    assert api_server_url(env) == url


def test_login_reads_the_pods_files_each_time(tmp_path: Path) -> None:
    settings = kopf.OperatorSettings()
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "6443"}
    assert login_in_cluster(settings, env, tmp_path) is None  # not in a Pod
    (tmp_path / "token").write_text("first\n")
    (tmp_path / "namespace").write_text("erp-sync")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    info = login_in_cluster(settings, env, tmp_path)
    assert info is not None
    assert (info.server, info.token, info.default_namespace, info.ca_path) == (
        "https://127.0.0.1:6443",
        "first",
        "erp-sync",
        str(tmp_path / "ca.crt"),
    )
    (tmp_path / "token").write_text("rotated")  # the kubelet refreshes projected tokens
    rotated = login_in_cluster(settings, env, tmp_path)
    assert rotated is not None and rotated.token == "rotated"
