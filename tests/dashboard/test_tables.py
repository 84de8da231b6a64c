import pandas as pd
from streamlit.testing.v1 import AppTest

from custseg.dashboard.tables import column_config, markdown_table


def test_markdown_table_formats_like_the_data_grid_and_aligns_numbers() -> None:
    frame = pd.DataFrame(
        {
            "persona": ["Champions", "At Risk"],
            "customers": [1234, 5],
            "change": [12, -3],
            "share": [0.1729, 0.0004],
            "revenue": [1306251.1031, 0.5],
        }
    )
    assert markdown_table(frame).splitlines() == [
        "| Persona | Customers | Change | Share | Revenue |",
        "|---|---:|---:|---:|---:|",
        "| Champions | 1,234 | +12 | 17.3% | 1,306,251.10 |",
        "| At Risk | 5 | -3 | 0.0% | 0.50 |",
    ]


def test_markdown_table_cells_cannot_break_the_table_or_carry_markup() -> None:
    frame = pd.DataFrame({"persona": ["a|b", "*x* <b>$1$</b>\nnext"], "customers": [1, 2]})
    rows = markdown_table(frame).splitlines()
    assert len(rows) == 4  # the line break in a cell stays inside its row
    assert rows[2] == "| a\\|b | 1 |"
    assert rows[3] == "| \\*x\\* \\<b\\>\\$1\\$\\</b\\> next | 2 |"


def test_a_fractional_count_reads_as_a_whole_number_with_separators() -> None:
    # The campaign plan's expected buyers (244.798): "localized" showed every decimal.
    frame = pd.DataFrame({"baseline_buyers": [244.798], "customers": [1234], "k": [3.5]})
    config = column_config(frame)
    assert config["baseline_buyers"]["type_config"]["format"] == "%,.0f"
    assert config["customers"]["type_config"]["format"] == "%,.0f"
    assert config["k"]["type_config"]["format"] == "%,.3f"


def test_a_column_of_numbers_has_one_count_of_decimals() -> None:
    # Four significant digits of the column's largest value, for every row: the report
    # showed 165.4 beside 15.95 and 0.338 beside 0.4329.
    frame = pd.DataFrame(
        {
            "recency_days_mean": [15.95, 44.51, 165.4],
            "silhouette": [0.338, 0.4329, 0.5],
            "log_likelihood": [-36900.2, -35012.5, float("nan")],
            "estimate": [0.7235, 2.568e-06, 20150.0],  # model parameters: each its own digits
        }
    )
    assert markdown_table(frame).splitlines()[2:] == [
        "| 15.9 | 0.3380 | -36,900 | 0.7235 |",
        "| 44.5 | 0.4329 | -35,012 | 2.568e-06 |",
        "| 165.4 | 0.5000 |  | 20,150 |",
    ]
    config = column_config(frame)
    formats = [config[c]["type_config"]["format"] for c in frame]
    assert formats == ["%,.1f", "%,.4f", "%,.0f", "%.4g"]


def _backtest_table() -> None:
    import pandas as pd

    from custseg.dashboard.tables import show

    show(pd.DataFrame({"method": ["bgnbd", "baseline_rate"], "log_likelihood": [-1.5, None]}))


def test_a_missing_value_is_an_empty_cell_not_the_word_none() -> None:
    app = AppTest.from_function(_backtest_table).run()
    assert not app.exception
    proto = app.dataframe[0].proto
    assert proto.HasField("placeholder")
    assert proto.placeholder == ""
