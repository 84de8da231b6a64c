import datetime as dt
from pathlib import Path

import pytest

from custseg.config import DEFAULT_CONFIG_PATH, Settings, load_settings
from custseg.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_parameters_equal_the_defaults() -> None:
    assert load_settings(ROOT / DEFAULT_CONFIG_PATH) == Settings()


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text("model:\n  kk: 3\n")
    with pytest.raises(UserError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: unknown parameter 'model.kk' (did you mean 'model.k'?); remove it or check "
        "its spelling (known here: k, k_min, k_max, business_k_min, business_k_max, n_init, "
        "silhouette_max_exact, sweep_max_customers, holdout_days, stability_resamples, "
        "stability_max_customers, seed)."
    )
    # The key as written (a flag's dash), and a key inside a playbook entry.
    path.write_text("model:\n  k-max: 3\n")
    with pytest.raises(UserError, match=r"'model.k-max' \(did you mean 'model.k_max'\?\)"):
        load_settings(path)
    path.write_text(
        "playbook:\n  At Risk:\n    action: a\n    channel: b\n    timing: c\n    actoin: x\n"
    )
    with pytest.raises(UserError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: unknown parameter 'playbook.At Risk.actoin' (did you mean "
        "'playbook.At Risk.action'?); remove it or check its spelling (known here: action, "
        "channel, timing)."
    )
    path.write_text("zzz: 1\n")  # nothing close: no guess
    with pytest.raises(UserError, match=r"unknown parameter 'zzz'; remove it .*\(known here: "):
        load_settings(path)


def test_bad_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(
        UserError, match=r"^Invalid value for --k: k must be 'auto' or an integer, got 'many'\.$"
    ):
        load_settings(None, {"model": {"k": "many"}})
    with pytest.raises(UserError, match=r"k_min \(9\) is larger than k_max \(4\)"):
        load_settings(None, {"model": {"k_min": 9, "k_max": 4}})
    with pytest.raises(UserError, match=r"Invalid value for --as-of: .*2011-12-10"):
        load_settings(None, {"as_of": "10/12/2011"})
    # A date in the future (a typo, often): every recency would count days not yet lived.
    today = dt.date.today()
    later = today + dt.timedelta(days=5)
    with pytest.raises(
        UserError,
        match=rf"^Invalid value for --as-of: as_of {later:%Y-%m-%d} lies in the future "
        r"\(today is \d{4}-\d\d-\d\d\): every customer's recency would count days that "
        r"have not happened; give a date up to today, or none \(the last kept purchase \+ 1 "
        r"day\)\.$",
    ):
        load_settings(None, {"as_of": f"{later:%Y-%m-%d}"})
    # Up to a day ahead passes (the time zones): "tomorrow" somewhere is today here.
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(23, 59))
    assert load_settings(None, {"as_of": tomorrow.isoformat()}).as_of == tomorrow
    path = tmp_path / "p.yml"
    path.write_text("- a list\n")
    with pytest.raises(UserError, match="must hold a mapping"):
        load_settings(path)


def test_overrides_win_and_none_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text("model:\n  seed: 5\n  k: 4\nas_of: 2011-12-10\n")
    settings = load_settings(path, {"model": {"seed": 7, "k": None}, "csv": {"delimiter": "tab"}})
    assert settings.model.seed == 7
    assert settings.model.k == 4
    assert settings.as_of == dt.datetime(2011, 12, 10)
    assert settings.csv.delimiter == "\t"


def test_yaml_errors_name_the_key_and_command_line_errors_the_option(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text("model:\n  k: lots\n")
    with pytest.raises(UserError, match=r"p.yml: invalid value for 'model.k': k must be 'auto'"):
        load_settings(path)
    with pytest.raises(UserError, match=r"^Invalid value for --seed: "):
        load_settings(None, {"model": {"seed": 2**40}})
    with pytest.raises(UserError, match=r"^Invalid value for --customer-col: "):
        load_settings(None, {"columns": {"customer": 5}})
    path.write_bytes(b"model:\n  k: \xff\n")
    with pytest.raises(UserError, match="is not UTF-8 text"):
        load_settings(path)


def test_yaml_dates_are_parsed_by_the_settings_and_syntax_errors_take_one_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.yml"
    path.write_text("as_of: 2011-12-10\n")
    assert load_settings(path).as_of == dt.datetime(2011, 12, 10)
    path.write_text("as_of: 2011-12-10 12:30:00\n")
    assert load_settings(path).as_of == dt.datetime(2011, 12, 10, 12, 30)
    # UTC written with a Z (YAML's own timestamp form), on every Python from 3.10: its
    # fromisoformat reads the Z only from 3.11. The offset is dropped, as for +01:00.
    path.write_text("as_of: 2011-12-10T12:30:00Z\n")
    assert load_settings(path).as_of == dt.datetime(2011, 12, 10, 12, 30)
    assert load_settings(None, {"as_of": "2011-12-10T12:30+01:00"}).as_of == dt.datetime(
        2011, 12, 10, 12, 30
    )
    # A date that does not exist: the key is named (YAML's own date parser said only
    # "month must be in 1..12", from inside the parser).
    path.write_text("as_of: 2011-13-01\n")
    with pytest.raises(UserError, match=r"p.yml: invalid value for 'as_of': .* got '2011-13-01'"):
        load_settings(path)
    path.write_text("model: [k: 4\n  x: {\n")
    with pytest.raises(UserError) as raised:
        load_settings(path)
    assert str(raised.value) == (
        f"The config file {path} is not valid YAML: expected ',' or ']', but got ':' "
        "at line 2, column 4."
    )
    with pytest.raises(UserError, match=r"^Cannot read the config file .*missing.yml: No such"):
        load_settings(tmp_path / "missing.yml")


def test_a_rule_across_values_names_the_options_that_gave_them(tmp_path: Path) -> None:
    with pytest.raises(UserError) as one:
        load_settings(None, {"model": {"k": 12, "seed": 3}})
    assert str(one.value) == (
        "Invalid value for --k: k must be between 2 and 11 (one persona name each), got 12."
    )
    with pytest.raises(UserError) as two:
        load_settings(None, {"model": {"k_min": 5, "k_max": 3}})
    assert str(two.value).endswith(
        "command-line options (--k-min, --k-max): k_min (5) is larger than k_max (3)."
    )
    with pytest.raises(UserError, match=r"^Invalid value for --engine: "):
        load_settings(None, {"engine": {"name": "foo"}})
    # From the file, the rule names the file, not an option.
    path = tmp_path / "p.yml"
    path.write_text("model:\n  k_min: 5\n  k_max: 3\n")
    with pytest.raises(UserError) as three:
        load_settings(path)
    assert (
        str(three.value)
        == f"{path}: invalid value for 'model': k_min (5) is larger than k_max (3)."
    )
    # One value from the command line, the other from the file: both are named.
    path.write_text("model:\n  k_max: 3\n")
    with pytest.raises(UserError) as four:
        load_settings(path, {"model": {"k_min": 5}})
    assert str(four.value) == (
        f"{path} with command-line options (--k-min): k_min (5) is larger than k_max (3)."
    )
