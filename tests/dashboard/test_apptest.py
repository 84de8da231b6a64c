"""The dashboard through Streamlit's AppTest: no browser, real script runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from custseg.asof import as_of_text
from custseg.cohorts import PERSONA_CURVES
from custseg.config import load_settings
from custseg.dashboard.state import save_upload
from custseg.errors import UserError
from custseg.pipeline import segment
from custseg.synth import generate_orders

from .conftest import ROOT


@pytest.fixture
def at(app_home: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.chdir(app_home)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


def _markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def _open(app: AppTest, tab: str) -> None:
    """Open a tab: only the open tab is drawn (lazy tabs)."""
    app.session_state["tab"] = tab
    app.run()
    assert not app.exception, app.exception


def _section(app: AppTest, key: str, open_: bool = True) -> None:
    """Open (or close) a sidebar section: its widgets are drawn only while it is open."""
    app.session_state[key] = open_
    app.run()


def _metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def _orders_csv(customers: int, seed: int) -> bytes:
    lines, _ = generate_orders(customers, seed)
    return lines.to_csv(index=False).encode()


def test_default_page_shows_personas_and_says_which_data(at: AppTest) -> None:
    assert not at.error
    assert "synthetic default (600 customers, seed 0)" in at.info[0].value
    assert _metric(at, "Customers") == "600"
    # Only the open tab is drawn: the persona cards are on Segments, the k on Choosing k.
    assert "### k = 4" not in _markdown(at)
    _open(at, "Segments")
    text = _markdown(at)
    for persona in ("Champions", "At Risk", "New Customers", "Hibernating"):
        assert persona in text
    _open(at, "Choosing k")
    assert "### k = 4" in _markdown(at)
    assert [t.label for t in at.tabs] == [
        "Overview",
        "Choosing k",
        "Segments",
        "Customers",
        "Cohorts",
        "Score new orders",
        "Migration",
        "Lifetime value",
    ]


def test_changing_k_resegments(at: AppTest) -> None:
    _open(at, "Choosing k")
    at.selectbox(key="k").set_value(6).run()
    assert not at.exception and not at.error
    assert "### k = 6" in _markdown(at)
    assert "k=6 was set by the user" in at.info[1].value
    # The run scored only k=6; the tab still compares every k (from the automatic choice).
    head, *rows = _summary(at, 1, "k")
    assert head[0] == "k" and head[3] == "Davies-Bouldin (lower is better)"
    assert head[-1] == "Chosen"
    assert [r[0] for r in rows] == [str(k) for k in range(2, 11)]
    assert [r[0] for r in rows if r[-1] == "chosen"] == ["6"]
    # k = 11, beyond the automatic range 2..10: its own scores are the last row, chosen
    # (the tab showed 2..10 with no k chosen, under "the star marks the chosen k").
    at.selectbox(key="k").set_value(11).run()
    assert not at.exception and not at.error
    head, *rows = _summary(at, 1, "k")
    assert [r[0] for r in rows] == [str(k) for k in range(2, 12)]
    assert [r[0] for r in rows if r[-1] == "chosen"] == ["11"]
    assert all(cell not in ("", "nan") for cell in rows[-1][1:4]), rows[-1]  # scored
    at.selectbox(key="k").set_value(6).run()
    _open(at, "Segments")
    assert _markdown(at).count("Suggested action:") == 6


def test_predictions_on_the_persona_cards(at: AppTest) -> None:
    _open(at, "Segments")
    assert "in the next 90 days" not in _markdown(at)  # off by default
    at.checkbox(key="with-clv").check().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    text = _markdown(at)
    # One line per persona card, with the horizon's days (predictions.horizon_days).
    assert text.count("in the next 90 days ·") == 4
    result = at.session_state["last_result"][0]
    assert "value_tier" in result.customers and result.customers["clv"].notna().all()


def test_a_bad_file_in_place_of_an_upload_falls_back_on_that_upload(at: AppTest) -> None:
    # In a browser, replacing a file passes through a run without one (the default data is
    # shown meanwhile); the bad file's page then showed the synthetic data as "the previous
    # results" instead of the file the user was looking at.
    at.radio(key="source").set_value("Upload a file").run()
    data = _orders_csv(150, seed=9)
    at.file_uploader(key="upload").upload("shop.csv", data, "text/csv").run()
    assert "Uploaded file: shop.csv" in at.info[0].value
    at.file_uploader(key="upload").clear().run()  # between the two files
    assert "synthetic default" in at.info[0].value
    bad = b"foo,bar,baz\n1,2,3\n"
    at.file_uploader(key="upload").upload("bad.csv", bad, "text/csv").run()
    assert not at.exception
    assert "bad.csv: no customer column found" in at.error[0].value
    said = [c.value for c in at.caption if c.value.startswith("Showing the previous results")]
    assert said == [
        f"Showing the previous results. Uploaded file: shop.csv ({len(data) / 1e3:,.0f} KB)."
    ]


def test_an_upload_over_the_limit_is_refused_in_the_uploaders_units(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The uploader counts 1 MB as 10**6 bytes (on Linux and macOS) and shows sizes so; the
    # app's own check counted 2**20 and wrote "1 MB" for a file the uploader calls 1.0 MB.
    import custseg.dashboard.sidebar as sidebar

    monkeypatch.setattr(sidebar, "MAX_UPLOAD_MB", 1)
    at.radio(key="source").set_value("Upload a file").run()
    data = _orders_csv(150, seed=9)
    big = data + b"\n" * (1_020_000 - len(data))  # over 10**6 bytes, under 2**20
    at.file_uploader(key="upload").upload("big.csv", big, "text/csv").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "big.csv is 1.0 MB (1,020,000 bytes), over the 1 MB upload limit; use the command "
        "line for larger files."
    ]


def test_uploaded_csv_is_segmented(at: AppTest) -> None:
    at.radio(key="source").set_value("Upload a file").run()
    data = _orders_csv(150, seed=9)
    at.file_uploader(key="upload").upload("shop.csv", data, "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    # Its size in the uploader's own units (it said 25,089 KB beside the uploader's 25.7MB).
    assert f"Uploaded file: shop.csv ({len(data) / 1e3:,.0f} KB)." in at.info[0].value
    path = save_upload("shop.csv", data)
    expected = segment(path, load_settings(None, {}))
    assert _metric(at, "Customers") == f"{len(expected.customers):,}"
    _open(at, "Choosing k")
    assert "### k = " + str(expected.model["k"]) in _markdown(at)


def test_a_semicolon_decimal_comma_csv_and_its_dialect_settings(at: AppTest) -> None:
    at.radio(key="source").set_value("Upload a file").run()
    lines, _ = generate_orders(150, 9)
    data = lines.to_csv(sep=";", decimal=",", index=False).encode()
    at.file_uploader(key="upload").upload("euro.csv", data, "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = segment(save_upload("euro.csv", data), load_settings(None, {}))
    assert _metric(at, "Customers") == f"{len(expected.customers):,}"
    # The dialect can be set in the sidebar; a wrong one is said in the sidebar's words.
    _section(at, "dialect-open")
    decimal = next(t for t in at.text_input if t.key.startswith("csv-decimal-"))
    assert "decimal separator" in decimal.help
    decimal.set_value(".").run()
    assert not at.exception and len(at.error) == 1
    message = at.error[0].value
    assert "Decimal separator (sidebar, CSV dialect)" in message and "--decimal" not in message


def test_an_uploaded_workbook_split_by_year_is_read_whole(at: AppTest, tmp_path: Path) -> None:
    from tests.xlsx import xlsx_bytes

    lines, _ = generate_orders(150, 9)
    lines = lines.astype(object).where(lines.notna(), None)
    rows = [[v.to_pydatetime() if hasattr(v, "to_pydatetime") else v for v in r]
            for r in lines.values.tolist()]  # fmt: skip
    half = len(rows) // 2
    header = list(lines.columns)
    data = xlsx_bytes({"Y1": [header, *rows[:half]], "Y2": [header, *rows[half:]]})
    at.radio(key="source").set_value("Upload a file").run()
    at.file_uploader(key="upload").upload("book.xlsx", data, "application/octet-stream").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = segment(save_upload("book.xlsx", data), load_settings(None, {}))
    assert expected.quality["rows_read"] == len(rows)
    assert _metric(at, "Customers") == f"{len(expected.customers):,}"
    assert f"{len(rows):,} rows read" in at.tabs[0].expander[0].label
    # One sheet alone: its rows only.
    _section(at, "mapping-open")
    at.selectbox(key="sheet-" + save_upload("book.xlsx", data).name).set_value("Y2").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert f"{len(rows) - half:,} rows read" in at.tabs[0].expander[0].label


HEADER = "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("bad.csv", b"when,what\n2011-01-01,1\n", "no customer column found"),
        ("empty.csv", b"", "is empty"),
        ("header.csv", HEADER.encode(), "has no data rows"),
        (
            "cancelled.csv",
            (HEADER + "C1,7,2011-01-01 10:00,1,2\nC2,8,2011-01-02 10:00,1,2\n").encode(),
            "0 valid purchases left after cleaning 2 rows (2 cancelled invoice)",
        ),
        (
            "ambiguous.csv",
            (HEADER + "1,7,03/02/2011 10:00,1,2\n2,8,04/02/2011 10:00,1,2\n").encode(),
            "read both day-first and month-first",
        ),
        (
            "two.csv",
            (HEADER + "1,7,2011-01-01 10:00,1,2\n2,8,2011-01-02 10:00,1,9\n").encode(),
            "only 2 customer(s) left after cleaning",
        ),
        (
            "fake.xlsx",
            b"PK\x03\x04 not really a workbook",
            "not a valid .xlsx file (File is not a zip file)",
        ),
    ],
)
def test_bad_upload_shows_the_cli_sentence_and_keeps_results(
    at: AppTest, name: str, data: bytes, expected: str
) -> None:
    at.radio(key="source").set_value("Upload a file").run()
    at.file_uploader(key="upload").upload(name, data, "application/octet-stream").run()
    assert not at.exception
    with pytest.raises(UserError) as cli:
        segment(save_upload(name, data), load_settings(None, {}))
    # The same sentence as the command line's, naming the file as the user named it and the
    # sidebar's settings instead of the flags (--customer-col: the Column mapping's Customer).
    from custseg.dashboard.sidebar import in_sidebar_words

    stored = str(save_upload(name, data))
    assert [e.value for e in at.error] == [in_sidebar_words(str(cli.value).replace(stored, name))]
    assert stored not in at.error[0].value
    assert expected in str(cli.value)
    # The previous results stay visible, and so does the whole sidebar.
    assert "Showing the previous results" in at.caption[0].value
    assert "Champions" in _markdown(at)
    assert at.sidebar.number_input(key="seed").value == 0
    assert any(u.key == "suppress-upload" for u in at.sidebar.get("file_uploader"))


def test_mapping_error_shows_the_message(at: AppTest) -> None:
    _section(at, "mapping-open")
    field = next(s for s in at.selectbox if s.label == "Quantity")
    field.set_value("Description").run()
    assert not at.exception
    assert len(at.error) == 1
    assert "0 valid purchases left after cleaning" in at.error[0].value
    assert "invalid quantity" in at.error[0].value
    assert "Description 'JUMBO HEART'" in at.error[0].value


def test_cleaning_toggle_and_customer_filters(at: AppTest) -> None:
    _open(at, "Customers")
    _section(at, "cleaning-open")
    at.checkbox(key="rule-duplicate_row").check().run()
    assert not at.exception and not at.error
    personas = next(m for m in at.multiselect if m.key.startswith("filter-persona-"))
    personas.set_value(["Champions"]).run()
    shown = at.dataframe[-1].value
    assert set(shown["persona"]) == {"Champions"}
    said = f"{len(shown):,} of 600 customers match the filters: personas (1 of 4)."
    assert said in [c.value for c in at.caption]
    # Another segmentation (k = 3) starts without the old filter, and says so.
    at.selectbox(key="k").set_value(3).run()
    assert "600 of 600 customers match (no filter)." in [c.value for c in at.caption]
    at.selectbox(key="k").set_value("auto").run()
    personas = next(m for m in at.multiselect if m.key.startswith("filter-persona-"))
    personas.set_value(["Champions"]).run()
    shown = at.dataframe[-1].value
    first = str(shown["customer_id"].iloc[0])
    at.text_input(key="filter-id").set_value(first).run()
    assert first in set(at.dataframe[-1].value["customer_id"])
    labels = [b.label for b in at.get("download_button")]
    assert labels == [
        "Filtered customers (CSV)",
        "All assignments (CSV)",
        "All assignments (Parquet)",
        "Segment summary (CSV)",
        "Audience: Champions (86 customers, CSV)",
    ]
    assert isinstance(shown, pd.DataFrame)
    # The filters outlive a visit to another tab.
    _open(at, "Cohorts")
    assert [b.label for b in at.get("download_button")] == ["Cohort table (CSV)"]
    _open(at, "Customers")
    assert set(at.dataframe[-1].value["customer_id"]) == {first}


def test_cancellation_pattern(at: AppTest) -> None:
    dropped = _cancelled(at)
    assert dropped > 0
    _section(at, "cleaning-open")
    at.text_input(key="cancelled-pattern").set_value("C[").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Invalid value for --cancelled-pattern: 'C[' is not a regular expression "
        "(unterminated character set at position 1)."
    ]
    # No id is X and digits: nothing is a cancellation.
    at.text_input(key="cancelled-pattern").set_value("X[0-9]+").run()
    assert not at.exception and not at.error
    assert _cancelled(at) == 0
    # Closed, the section keeps its settings (its widgets are not drawn); reopened, it
    # shows them.
    _section(at, "cleaning-open", False)
    assert not [t for t in at.text_input if t.key == "cancelled-pattern"]
    _open(at, "Segments")
    _open(at, "Overview")
    assert _cancelled(at) == 0
    assert at.session_state["last_result"][0].model.settings["cleaning"]["cancelled_pattern"] == (
        "X[0-9]+"
    )
    _section(at, "cleaning-open")
    assert at.text_input(key="cancelled-pattern").value == "X[0-9]+"
    # Invoices ending 0-7 (about 80%) as cancellations: the guard stops, the checkbox goes on.
    at.text_input(key="cancelled-pattern").set_value("[0-9]*[0-7]").run()
    assert len(at.error) == 1 and "the rule cancelled_invoice drops" in at.error[0].value
    at.checkbox(key="allow-large-drops").check().run()
    assert not at.exception and not at.error


def _cancelled(app: AppTest) -> int:
    if not app.session_state["quality-open"]:  # the accounting is drawn when opened
        app.session_state["quality-open"] = True
        app.run()
    table = next(t.value for t in app.dataframe if "rows dropped" in t.value.columns)
    return int(table.loc[table["rule"] == "cancelled_invoice", "rows dropped"].iloc[0])


def test_scoring_and_migration_tabs(at: AppTest) -> None:
    assert [t.label for t in at.tabs][5:7] == ["Score new orders", "Migration"]
    _open(at, "Score new orders")
    data = _orders_csv(120, seed=5)
    at.file_uploader(key="score-upload").upload("new.csv", data, "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    tab = at.tabs[5]
    assert "customers scored** from new.csv" in "\n".join(m.value for m in tab.markdown)
    counts, scored = tab.dataframe[0].value, tab.dataframe[1].value
    assert int(counts["customers"].sum()) == len(scored) > 0
    assert set(scored["persona"]) <= set(at.session_state["last_result"][0].segments["persona"])
    # A file with other column names (Online Retail II's) is read by its own header, as
    # `custseg score` reads it, not with the sidebar's mapping of the segmented file.
    lines, _ = generate_orders(80, 6)
    renamed = lines.rename(
        columns={"InvoiceNo": "Invoice", "UnitPrice": "Price", "CustomerID": "Customer ID"}
    )
    upload = renamed.to_csv(index=False).encode()
    at.file_uploader(key="score-upload").upload("renamed.csv", upload, "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "customers scored** from renamed.csv" in "\n".join(m.value for m in at.tabs[5].markdown)
    assert not at.tabs[5].warning  # customers like the model's
    # Prices in a currency worth a hundredth: scored, with the warning custseg score gives.
    lines, _ = generate_orders(120, 5)
    yen = lines.assign(UnitPrice=lines["UnitPrice"] * 100).to_csv(index=False).encode()
    at.file_uploader(key="score-upload").upload("yen.csv", yen, "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    warned = " ".join(w.value for w in at.tabs[5].warning)
    assert "customers of yen.csv differ from those the model was fitted on" in warned
    assert "spend" in warned and "customers scored** from yen.csv" in _markdown(at)
    _open(at, "Migration")
    at.toggle(key="mig-run").set_value(True).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    matrix = at.tabs[6].dataframe[0].value
    assert int(matrix["customers"].sum()) == len(at.session_state["last_result"][0].customers)
    assert "both assigned by the model" in at.info[-1].value
    # The summary names movers.csv: the tab offers that file when anyone moved down (a
    # first snapshot five months earlier has movers on this data).
    assert "Movers (movers.csv)" not in [b.label for b in at.get("download_button")]
    first = at.date_input(key="mig-before")
    first.set_value(first.value - dt.timedelta(days=150)).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    moved = at.tabs[6].dataframe[1].value
    assert len(moved) > 0 and "Movers (movers.csv)" in [b.label for b in at.get("download_button")]
    # The second date is the data's as-of time on its last day (the Segments tab's
    # snapshot), else 00:00 as on the command line; the tab gives the command for both.
    end = dt.datetime.fromisoformat(at.session_state["last_result"][0].quality.as_of)
    said = " ".join(c.value for c in at.tabs[6].caption)
    assert f" --as-of {as_of_text(end)}` (a date alone" in said
    assert f"as of {end:%Y-%m-%d %H:%M} (" in at.info[-1].value
    # Dates out of order: one sentence in the tab's words, nothing computed.
    start = at.session_state["mig-before"]
    at.date_input(key="mig-after").set_value(start - dt.timedelta(days=1)).run()
    assert not at.exception
    assert [e.value for e in at.tabs[6].error] == [
        f"The first snapshot ({start}) must come before the second "
        f"({start - dt.timedelta(days=1)})."
    ]
    earlier = end.date() - dt.timedelta(days=10)
    at.date_input(key="mig-after").set_value(earlier).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    said = " ".join(c.value for c in at.tabs[6].caption)
    assert f"--as-of {earlier}` (a date alone is 00:00 of that day)" in said
    assert f"as of {earlier} (" in at.info[-1].value


def test_lifetime_value_tab(at: AppTest) -> None:
    _open(at, "Lifetime value")
    at.checkbox(key="clv-backtest").check()
    at.toggle(key="clv-run").set_value(True).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    tab = at.tabs[7]
    personas = tab.dataframe[0].value
    assert int(personas["customers"].sum()) > 0
    assert set(personas["persona"]) <= set(at.session_state["last_result"][0].segments["persona"])
    methods = list(tab.dataframe[1].value["method"])
    assert methods == [
        "bg_nbd", "mbg_nbd", "pareto_nbd", "baseline_rate", "baseline_calibration_revenue"
    ]  # fmt: skip
    # The chosen model and why, in words; the evaluation charts of the chosen model.
    assert any(" chosen: " in i.value for i in tab.info)
    titles = [c.proto.spec for c in tab.get("plotly_chart")]
    assert any("by calibration repeat purchases" in t for t in titles)
    assert any("Gini of the ranking" in t for t in titles)
    # With the backtest, the personas are calibration's (custseg clv --calibration-end's).
    last = dt.datetime.fromisoformat(at.session_state["last_result"][0].quality.last_purchase)
    cut = (last.date() - dt.timedelta(days=90)).isoformat()
    said = " ".join(c.value for c in tab.caption)
    assert f"The personas are fitted on the lines up to {cut}, as `custseg clv" in said
    assert "No spend" not in said  # every synthetic purchase has a price

    # The planner under the CLV figures: the page's numbers follow the formula.
    # Defaults: 30 days, uplift 2 pp, contact 0.10, offer 5, redemption 1, margin 0.3.
    plan = tab.dataframe[-1].value
    row = plan.iloc[0]
    # Best profit first, and the figures the order is by in view first.
    assert plan.columns[:5].tolist() == ["persona", "profit", "roi", "incremental_revenue", "cost"]
    assert plan["profit"].tolist() == sorted(plan["profit"], reverse=True)
    assert row["window_days"] == 30 and row["uplift_pp"] == 2.0
    assert row["incremental_buyers"] == round(row["customers"] * 0.02, 2)
    assert row["baseline_buyers"] == pytest.approx(
        row["customers"] * row["baseline_probability"], abs=0.01 * row["customers"]
    )
    assert row["incremental_revenue"] == pytest.approx(
        row["incremental_buyers"] * row["expected_spend_per_purchase"], rel=1e-3, abs=0.05
    )
    assert row["buyers_redeeming"] == pytest.approx(
        row["baseline_buyers"] + row["incremental_buyers"], abs=0.02
    )
    assert row["cost"] == pytest.approx(
        row["customers"] * 0.10 + row["buyers_redeeming"] * 5, abs=0.1
    )
    assert row["profit"] == pytest.approx(row["incremental_revenue"] * 0.3 - row["cost"], abs=0.02)
    assert any("incremental_buyers = customers x uplift_pp / 100" in c.value for c in tab.code)
    assert any("Baseline: buy within 30 days" in m.label for m in tab.metric)
    # Another planner setting, a visit to another tab and back: the settings stay, and
    # nothing the tab drew (its download button) is written back into its state.
    at.number_input(key="plan-margin").set_value(0.4).run()
    assert not at.exception, at.exception
    _open(at, "Segments")
    _open(at, "Lifetime value")
    assert at.toggle(key="clv-run").value is True
    assert at.number_input(key="plan-margin").value == 0.4
    # Without the backtest the model is chosen on the last quarter of the time span: said
    # under the backtest's heading, whose window is not the horizon then.
    at.checkbox(key="clv-backtest").uncheck().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    said = " ".join(c.value for c in at.tabs[7].caption)
    assert "chosen on the last quarter of the data's time span" in said
    assert "The personas are fitted on the lines up to" not in said


def test_a_customer_of_free_purchases_only_is_explained_on_the_value_tab(at: AppTest) -> None:
    # One customer whose only lines cost nothing: in no segment, but in the count model's
    # data, so the value table has a persona the Segments tab has not. Said under it.
    lines, _ = generate_orders(150, 9)
    free = lines.iloc[[0, 1]].assign(CustomerID=99999, UnitPrice=0.0, InvoiceNo=["F1", "F2"])
    data = pd.concat([lines, free]).to_csv(index=False).encode()
    at.radio(key="source").set_value("Upload a file").run()
    at.file_uploader(key="upload").upload("free.csv", data, "text/csv").run()
    _open(at, "Lifetime value")
    at.toggle(key="clv-run").set_value(True).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    tab = at.tabs[7]
    personas = tab.dataframe[0].value
    assert personas.loc[personas["persona"] == "No spend", "customers"].tolist() == [1]
    assert (
        "No spend: 1 customer(s) whose purchases were all at a price of zero. Cleaning drops "
        "those lines (non_positive_price), so they are in no segment"
    ) in " ".join(c.value for c in tab.caption)


def test_cohorts_tab_and_audience_download(at: AppTest) -> None:
    _open(at, "Cohorts")
    tab = at.tabs[4]
    assert tab.label == "Cohorts"
    assert "Cohort = month of a customer's first kept purchase" in tab.markdown[0].value
    # Under the persona curves: what they are (the personas are today's, so no forecast).
    assert [c.value for c in tab.caption if "persona's curve" in c.value] == [PERSONA_CURVES]
    _open(at, "Customers")
    labels = [b.label for b in at.get("download_button")]
    assert any(label.startswith("Audience: Champions (") for label in labels)


def test_layout_and_currency_choices(at: AppTest) -> None:
    assert _cancelled(at) > 0
    # Read as no layout, the synthetic Online Retail lines have no cancellation convention.
    _section(at, "mapping-open")
    layout = next(s for s in at.selectbox if s.key.startswith("layout-"))
    assert layout.value == "(recognised by the header)"
    layout.set_value("none").run()
    assert not at.exception and not at.error
    assert _cancelled(at) == 0
    layout.set_value("online-retail").run()
    assert _cancelled(at) > 0
    # A time zone that is no IANA name is one sentence.
    zone = next(t for t in at.text_input if t.key.startswith("timezone-"))
    zone.set_value("Mars/Olympus").run()
    assert len(at.error) == 1 and "'Mars/Olympus' is not an IANA time zone" in at.error[0].value


def test_an_uploaded_shop_export_is_read_by_its_layout(at: AppTest) -> None:
    from tests.io.exports import SHOPIFY

    head, *body = SHOPIFY.splitlines()
    lines = [head]
    for c in range(40):  # forty shops' worth of the fixture's customers
        for line in body:
            parts = line.split(",")
            parts[0] += f"-{c}"
            parts[1] = f"c{c}-{parts[1]}" if parts[1] else ""
            lines.append(",".join(parts))
    at.radio(key="source").set_value("Upload a file").run()
    data = ("\n".join(lines) + "\n").encode()
    at.file_uploader(key="upload").upload("orders_export.csv", data, "text/csv").run()
    # Shopify's own "Total" is not taken as a line amount: the layout computes spend.
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _metric(at, "Customers") == "120"
    assert not at.warning  # the notes are in the data-quality accounting, one click away
    assert at.tabs[0].expander[0].label.endswith("; 2 notes")
    at.session_state["quality-open"] = True
    at.run()
    # How the file was read is information; the other note (tiny data) a warning.
    assert [i.value for i in at.tabs[0].info if i.value.startswith("Input read as")] == [
        "Input read as: the Shopify orders export layout; spend in USD; times with UTC "
        "offsets read as instants, calendar in UTC."
    ]
    notes = " ".join(w.value for w in at.warning)
    assert "Input read as" not in notes and "Tiny data" in notes, notes
    # The upload is named as it was uploaded, not by its stored path.
    caption = next(c.value for c in at.caption if "Recency is measured" in c.value)
    assert "Input: orders_export.csv (csv)" in caption and "custseg-uploads" not in caption


def test_flags_become_the_sidebar_settings() -> None:
    from custseg.dashboard.sidebar import in_sidebar_words

    said = in_sidebar_words("name it with --customer-col; or --date-format '%d/%m/%Y'.")
    assert said == (
        "name it with Customer id (sidebar, Column mapping); or Date format (sidebar, CSV "
        "dialect) '%d/%m/%Y'."
    )
    assert in_sidebar_words("--k 3 and --date-column-x") == "--k 3 and --date-column-x"
    # The notes of the data-quality accounting name two cleaning switches.
    assert in_sidebar_words("--returns net would subtract; --drop-non-product leaves") == (
        "Returns: Net against purchases (sidebar, Cleaning rules) would subtract; the "
        "non-product stock code rule (sidebar, Cleaning rules) leaves"
    )
    # A rule's label, inside the sidebar's own section, names the setting without where it is.
    assert in_sidebar_words("with --returns net; see --date-format", where=False) == (
        "with Returns: Net against purchases; see Date format"
    )


def _summary(app: AppTest, tab: int = 0, first: str = "Persona") -> list[list[str]]:
    """Return a tab's Markdown table (the Overview's summary) as rows of cells, header first."""
    table = next(m.value for m in app.tabs[tab].markdown if m.value.startswith(f"| {first} |"))
    lines = table.splitlines()
    assert set(lines[1]) <= set("|-:"), lines[1]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[:1] + lines[2:]]


def test_the_first_screen_is_a_summary_with_the_accounting_one_click_away(at: AppTest) -> None:
    tab = at.tabs[0]
    head, *rows = _summary(at)
    result = at.session_state["last_result"][0]
    segments = result.segments.sort_values("revenue", ascending=False)
    assert head == [
        "Persona", "Customers", "Share", "Revenue", "Revenue share", "What to do this week"
    ]  # fmt: skip
    assert [r[0] for r in rows] == segments["persona"].tolist()
    for row, seg in zip(rows, segments.itertuples(), strict=True):
        assert row[1:5] == [
            f"{seg.customers:,}", f"{seg.share:.1%}", f"{seg.revenue:,.2f}",
            f"{seg.revenue_share:.1%}",
        ]  # fmt: skip
        assert row[5] == seg.action
    top = segments.iloc[0]
    assert f"**{top.persona}** ({top.customers:,} customers" in tab.markdown[0].value
    # The accounting is drawn when its expander is opened, not before.
    assert tab.expander[0].label.startswith(f"Data quality: {result.quality.rows_read:,} rows read")
    assert not tab.dataframe and not [m for m in tab.metric if m.label == "Orders"]
    at.session_state["quality-open"] = True
    at.run()
    drops = at.tabs[0].dataframe[0].value
    assert int(drops["rows dropped"].sum()) == result.quality.rows_read - result.quality.rows_kept
    # The counts first (the descriptions are cut at the table's edge), in the sidebar's words.
    assert list(drops.columns[:5]) == [
        "rule", "applied", "rows dropped", "share of rows read", "what it drops"
    ]  # fmt: skip
    said = drops.set_index("rule")["what it drops"]
    assert said["suppressed"].startswith(
        "with a list of Customers who objected to profiling (sidebar): the customer"
    )
    # The sidebar's own rule labels name the settings without the flags, nor "(sidebar)".
    at.session_state["cleaning-open"] = True
    at.run()
    labels = [c.label for c in at.sidebar.checkbox if c.key and c.key.startswith("rule-")]
    assert "with the non-product stock code rule: a stock code that is not a product" in " ".join(
        labels
    )
    assert not [label for label in labels if "--" in label or "(sidebar" in label], labels
    assert "--" not in " ".join(said), said.tolist()
    # After another k on the same file, the change per segment is shown, with its sign.
    at.selectbox(key="k").set_value(3).run()
    head, *rows = _summary(at)
    assert head[2] == "Change"
    now = at.session_state["last_result"][0].segments.set_index("persona")["customers"]
    before = result.segments.set_index("persona")["customers"]
    for row in rows:
        assert row[2] == f"{now[row[0]] - before.get(row[0], 0):+,}"
    # The personas of k=4 that k=3 has not are named with their customers: with them the
    # changes add up to the difference in customers (zero: the same file).
    gone = before[~before.index.isin(now.index)]
    assert len(gone) > 0
    said = " ".join(c.value for c in at.tabs[0].caption)
    assert "; no longer a segment: " + ", ".join(f"{p} ({n:,})" for p, n in gone.items()) in said
    changes = sum(int(row[2].replace(",", "")) for row in rows)
    assert changes - int(gone.sum()) == int(now.sum()) - int(before.sum()) == 0


def test_the_docs_show_the_apps_tabs(at: AppTest) -> None:
    # docs/dashboard.png is made by `make screenshot`, which writes the tabs it shows beside
    # it; docs/dashboard.md lists the same tabs, in bold.
    import re

    tabs = [t.label for t in at.tabs]
    shown = (ROOT / "docs" / "dashboard.tabs").read_text().split("\n")
    assert [t for t in shown if t] == tabs, "run `make screenshot`: docs/dashboard.png is stale"
    section = (ROOT / "docs" / "dashboard.md").read_text()
    listed = re.findall(r"^- \*\*([^*]+)\*\*", section, flags=re.MULTILINE)
    assert [t for t in listed if t != "Sidebar"] == tabs


def test_a_suppression_list_leaves_its_customers_out(at: AppTest) -> None:
    result = at.session_state["last_result"][0]
    gone = result.customers["customer_id"].head(2).tolist()
    at.file_uploader(key="suppress-upload").upload(
        "objected.txt", ("\n".join(gone) + "\n").encode(), "text/plain"
    ).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _metric(at, "Customers") == "598"
    now = at.session_state["last_result"][0]
    assert not set(gone) & set(now.customers["customer_id"])
    assert now.quality.dropped["suppressed"] > 0
    assert "Customers who objected" in at.file_uploader(key="suppress-upload").label


def test_a_scored_file_of_the_same_shop_is_read_with_the_sidebars_mapping(at: AppTest) -> None:
    names = {"CustomerID": "client", "InvoiceNo": "order_ref", "InvoiceDate": "day"}
    lines, _ = generate_orders(150, 9)
    at.radio(key="source").set_value("Upload a file").run()
    data = lines.rename(columns=names).to_csv(index=False).encode()
    at.file_uploader(key="upload").upload("shop.csv", data, "text/csv").run()
    assert "no customer column found" in at.error[0].value
    _section(at, "mapping-open")
    for label, column in (("Customer id", "client"), ("Invoice / order id", "order_ref")):
        next(s for s in at.selectbox if s.label == label).set_value(column).run()
    next(s for s in at.selectbox if s.label == "Order date").set_value("day").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    _open(at, "Score new orders")
    later, _ = generate_orders(80, 6)
    upload = later.rename(columns=names).to_csv(index=False).encode()
    at.file_uploader(key="score-upload").upload("later.csv", upload, "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    said = "\n".join(m.value for m in at.tabs[5].markdown)
    assert "customers scored** from later.csv (read with the sidebar's column mapping" in said
    # A file neither way readable: the sentence of its own columns, in the sidebar's words.
    other = later.rename(columns={"CustomerID": "who"}).to_csv(index=False).encode()
    at.file_uploader(key="score-upload").upload("other.csv", other, "text/csv").run()
    assert len(at.error) == 1 and "no customer column found among" in at.error[0].value
    assert "(sidebar, Column mapping)" in at.error[0].value and "--" not in at.error[0].value
