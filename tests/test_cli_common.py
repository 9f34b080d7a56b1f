"""The option types shared by the commands."""
import click
import pytest
from conftest import invoke
from mnistnn.cli_common import Real


@click.command()
@click.option("--x", type=Real(min=0, max=10, min_open=True))
def command(x):
    click.echo(repr(x))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300", "0", "-1", "10.5", "fast"])
def test_real_refuses_what_is_not_a_finite_number_in_range(value):
    result = invoke("--x", value, command=command)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "--x" in result.stderr


@pytest.mark.parametrize("value, expected", [("0.5", 0.5), ("10", 10.0), ("1e-3", 0.001)])
def test_real_accepts_finite_numbers_in_range(value, expected):
    result = invoke("--x", value, command=command)
    assert result.exception is None and result.stdout.strip() == repr(expected)


def test_real_describes_its_range():
    assert Real(min=0, max=10, min_open=True).describe() == "in (0, 10]"
    assert Real(min=0).describe() == "at least 0"
    assert Real(max=1, max_open=True).describe() == "below 1"
    assert Real().describe() == "a finite number"
