"""The Streamlit dashboard: ``streamlit run app.py``.

``main`` draws the page from small ``*_ui`` functions; every figure comes from the library
(:mod:`custseg.commands`, :mod:`custseg.charts`), computed once per input and settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import streamlit as st

from custseg.config import Settings
from custseg.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

    from custseg.results import RunResult

__all__ = ["main"]

#: The value widgets drawn inside tabs whose values outlive a tab switch (the customer
#: filters by their prefix). Buttons, uploads and charts are not: Streamlit refuses to have
#: their state written.
_KEPT = frozenset(
    {
        "audience-persona",
        "clv-horizon", "clv-backtest", "clv-run",
        "mig-before", "mig-after", "mig-run",
        "plan-persona", "plan-window", "plan-uplift", "plan-redemption", "plan-contact",
        "plan-offer", "plan-margin",
    }
)  # fmt: skip
_KEPT_PREFIX = "filter-"


def _scores_of_every_k(choice: Any, result: RunResult) -> pd.DataFrame:
    """Return the k table to show: with k set by the user, every k's from the auto run.

    A run with a fixed k scores only that k; the auto run on the same data and settings
    (cached once computed) gives the others, to compare.
    """
    from custseg.dashboard.state import run_segmentation

    settings, path, table = choice.settings, choice.path, result.k_table
    if settings is None or path is None or not isinstance(settings.model.k, int):
        return table
    auto = settings.model_copy(update={"model": settings.model.model_copy(update={"k": "auto"})})
    try:
        every: pd.DataFrame = run_segmentation(path, auto).k_table.copy()
    except UserError:
        return table
    every["chosen"] = every["k"] == settings.model.k
    if not every["chosen"].any():  # a k beyond the automatic range (11): its own scores
        import pandas as pd

        every = pd.concat([every, table], ignore_index=True).sort_values("k", kind="mergesort")
    shown: pd.DataFrame = every.reset_index(drop=True)
    return shown


def _keep_tab_settings() -> None:
    """Keep the settings made in tabs and sidebar sections that this rerun does not draw.

    Streamlit forgets a widget's value when a run does not draw it; with only the open tab
    (and the open sidebar sections) drawn, a toggle or a filter would reset on every tab
    switch. Writing the value back makes it session state of its own, which Streamlit keeps.
    """
    from custseg.dashboard.sidebar import KEPT_KEYS

    sections = st.session_state.get(KEPT_KEYS, set())
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and (
            key in _KEPT or key.startswith(_KEPT_PREFIX) or key in sections
        ):
            st.session_state[key] = st.session_state[key]


def main() -> None:
    """Draw the dashboard."""
    st.set_page_config(
        page_title="custseg: customer segments", page_icon=":material/groups:", layout="wide"
    )
    from custseg.dashboard.sidebar import sidebar_ui
    from custseg.dashboard.state import run_segmentation
    from custseg.dashboard.uploads import remove_stale_uploads

    remove_stale_uploads()  # left by a dashboard that was killed (once per process)
    from custseg.dashboard.views import customers_ui, k_selection_ui, overview_ui, segments_ui

    st.title("Customer segments")
    _keep_tab_settings()
    choice = sidebar_ui()
    result = None
    error = choice.error
    if error is None and choice.path is not None and choice.settings is not None:
        try:
            result = run_segmentation(choice.path, choice.settings)
        except UserError as exc:
            error = choice.named(str(exc))
    if result is not None:
        # Each rerun gets a fresh copy from the cache: a new segmentation is told by its
        # file and settings, not by the object.
        last = st.session_state.get("last_result")
        # Replacing an upload passes through a run without a file (the default data shown
        # meanwhile): a bad file then falls back on the previous upload, not on that.
        if not (choice.placeholder and last is not None):
            if last is not None and last[2] != choice.identity:
                st.session_state["earlier_result"] = last[0]  # what changed since it
            st.session_state["last_result"] = (result, choice.note, choice.identity)
        st.info(choice.note, icon=":material/database:")
    else:
        st.error(error or "Nothing to show yet.", icon=":material/error:")
        previous = st.session_state.get("last_result")
        if previous is None:
            return
        result = previous[0]
        st.caption(f"Showing the previous results. {previous[1]}")
    from custseg.dashboard.clv_tab import clv_ui
    from custseg.dashboard.pages import cohorts_ui, migration_ui, scoring_ui

    settings = choice.settings or Settings()
    current = choice.path if error is None else None
    pages: dict[str, Callable[[], None]] = {
        "Overview": lambda: overview_ui(result, st.session_state.get("earlier_result")),
        "Choosing k": lambda: k_selection_ui(result, _scores_of_every_k(choice, result)),
        "Segments": lambda: segments_ui(result),
        "Customers": lambda: customers_ui(result),
        "Cohorts": lambda: cohorts_ui(result),
        "Score new orders": lambda: scoring_ui(result, settings),
        "Migration": lambda: migration_ui(result, current, settings),
        "Lifetime value": lambda: clv_ui(result, current, settings),
    }
    # Only the open tab is computed and sent: a tab's content costs nothing until it is
    # shown, and its results stay cached for the next visit.
    tabs = st.tabs(list(pages), key="tab", on_change="rerun")
    for tab, draw in zip(tabs, pages.values(), strict=True):
        if tab.open:
            with tab:
                draw()
