"""`erp-sync webhooks` refuses what it cannot run with, in one line, and never shows the Authorization value."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from erpsync.cli import main


@pytest.mark.parametrize(
    ("arguments", "environment", "words"),
    [
        (["-n", "erp"], {}, "ERPSYNC_WEBHOOK_AUTHORIZATION: the Authorization value is empty or shorter than 16"),
        (["-n", "erp"], {"ERPSYNC_WEBHOOK_AUTHORIZATION": "Bearer short"}, "shorter than 16 characters"),
        (["-n", "erp", "-A"], {}, "give --namespace (repeatable) or --all-namespaces"),
        ([], {}, "give --namespace (repeatable) or --all-namespaces"),
        (["-A", "--path", "hook"], {}, "'hook' is not allowed; allowed: a path starting with /"),
        (["-A", "--authorization-file", "/nonexistent/authorization"], {}, "cannot be read (FileNotFoundError)"),
    ],
)
def test_bad_input_is_one_line_naming_what_is_allowed(
    arguments: list[str], environment: dict[str, str], words: str
) -> None:
    result = CliRunner().invoke(
        main, ["webhooks", *arguments], env={"ERPSYNC_WEBHOOK_AUTHORIZATION": "", **environment}
    )
    assert result.exit_code == 2 and words in result.output, result.output
    assert "Traceback" not in result.output and "Bearer short" not in result.output


def test_a_short_value_in_a_file_is_refused_without_showing_it(tmp_path: Path) -> None:
    secret = tmp_path / "authorization"
    secret.write_text("Bearer tiny\n")
    result = CliRunner().invoke(main, ["webhooks", "-A", "--authorization-file", str(secret)])
    assert result.exit_code == 2 and f"--authorization-file {secret}: the Authorization value" in result.output
    assert "tiny" not in result.output


@pytest.mark.parametrize(
    ("environment", "words"),
    [
        ({"PROCORE_CLIENT_ID": "receiver"}, "client_secret is empty; allowed: both client_id and client_secret"),
        (
            {"PROCORE_CLIENT_ID": "receiver", "PROCORE_CLIENT_SECRET": "s3cret-0123", "PROCORE_LOGIN_URL": "login"},
            "PROCORE_LOGIN_URL: 'login' is not allowed; allowed: an http:// or https:// URL",
        ),
    ],
)
def test_a_bad_procore_setting_is_refused_before_serving(environment: dict[str, str], words: str) -> None:
    result = CliRunner().invoke(
        main,
        ["webhooks", "-A", "--port", "1", "--metrics-port", "0"],
        env={"ERPSYNC_WEBHOOK_AUTHORIZATION": "Bearer 0123456789abcdef", **environment},
    )
    assert result.exit_code == 2 and words in result.output, result.output
    assert "Traceback" not in result.output and "s3cret" not in result.output
