"""Pure validation: sizes, CPU, cron, windows, names."""

import pytest

from components._core import Cloud, InputError, Platform
from components._core.units import cpu_millicores, cron, format_mib, format_millicores, size_gib, size_mib, time_window


@pytest.mark.parametrize("text,mib", [("512Mi", 512), ("4Gi", 4096), ("1.5Gi", 1536), ("1Ti", 1024 * 1024)])
def test_sizes_parse_binary_units(text, mib):
    assert size_mib("f", text) == mib


@pytest.mark.parametrize("bad", ["8GB", "8G", "8 gigs", "", "0Mi", 8, None])
def test_sizes_refuse_ambiguous_or_malformed(bad):
    with pytest.raises(InputError, match="f: got"):
        size_mib("f", bad)


def test_decimal_gigabytes_suggest_gibibytes():
    with pytest.raises(InputError, match="Did you mean '8Gi'"):
        size_mib("memory", "8GB")


def test_storage_must_be_whole_gib():
    assert size_gib("s", "100Gi") == 100
    with pytest.raises(InputError, match="whole GiB"):
        size_gib("s", "1536Mi")


@pytest.mark.parametrize("text,milli", [("2", 2000), (2, 2000), ("0.5", 500), ("250m", 250), ("1000m", 1000)])
def test_cpu(text, milli):
    assert cpu_millicores("cpu", text) == milli


@pytest.mark.parametrize("bad", ["2 cores", "-1", "1.2345", "m", True])
def test_cpu_refuses_garbage(bad):
    with pytest.raises(InputError):
        cpu_millicores("cpu", bad)


def test_formatting_round_trips():
    assert format_mib(4096) == "4Gi" and format_mib(1536) == "1536Mi"
    assert format_millicores(2000) == "2" and format_millicores(250) == "250m"


@pytest.mark.parametrize("good", ["0 3 * * *", "0 * * * *", "0 4 * * 0", "*/15 * * * *"])
def test_cron_accepts(good):
    assert cron("s", good) == good


@pytest.mark.parametrize("bad", ["0 25 * * *", "daily", "0 3 * *", "61 * * * *", "0 3 * * * *"])
def test_cron_refuses(bad):
    with pytest.raises(InputError, match="cron"):
        cron("s", bad)


def test_backup_window_needs_30_minutes():
    assert time_window("w", "03:00-04:00") == "03:00-04:00"
    with pytest.raises(InputError, match="30 minutes"):
        time_window("w", "03:00-03:10")
    with pytest.raises(InputError, match="HH:MM-HH:MM"):
        time_window("w", "3am-4am")


def test_physical_names_are_deterministic_and_truncated():
    p = Platform(cloud=Cloud.AWS, app="compyle", stack="prod")
    assert p.physical_name("db") == "compyle-prod-db"
    long = p.physical_name("a-very-long-role-name-for-a-target-group")
    assert len(long) <= 32 and long == p.physical_name("a-very-long-role-name-for-a-target-group")


def test_labels_carry_the_four_facts():
    p = Platform(cloud=Cloud.GCP, app="chat", stack="staging")
    assert p.labels("web-service") == {"app": "chat", "stack": "staging", "component": "web-service", "managed-by": "prodkit"}


def test_platform_refuses_bad_app_name():
    with pytest.raises(InputError, match="app name"):
        Platform(cloud=Cloud.AWS, app="My_App", stack="prod")
