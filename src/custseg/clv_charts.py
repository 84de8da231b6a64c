"""Charts of the lifetime-value predictions and their evaluation (clv.html, the dashboard)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from custseg.charts import _LAYOUT, PERSONA_COLORS, _figure

__all__ = [
    "clv_persona_chart",
    "deciles_chart",
    "frequency_chart",
    "predicted_actual_chart",
    "tracking_chart",
]

ACTUAL, PREDICTED = "#333333", "#1f77b4"


def clv_persona_chart(personas: pd.DataFrame, horizon: int, *, alive: bool = True) -> go.Figure:
    """Draw expected revenue by persona and, where the model tells it, the mean P(alive).

    Parameters
    ----------
    personas : pandas.DataFrame
        persona, expected_revenue, p_alive_mean.
    horizon : int
        Days predicted, for the title.
    alive : bool
        Whether the model tells active from lapsed customers; if not, P(alive) is about 1
        for everyone and its panel is left out (the page says why in words).

    Returns
    -------
    plotly.graph_objects.Figure
        Bars in the personas' colours.
    """
    panels = [("expected_revenue", f"Expected revenue, next {horizon} days", ",.0f")]
    if alive:
        panels.append(("p_alive_mean", "Mean P(alive)", ".0%"))
    fig = make_subplots(
        figure=_figure(), rows=1, cols=len(panels), subplot_titles=[p[1] for p in panels]
    )
    colors = [PERSONA_COLORS.get(str(p), "#999999") for p in personas["persona"]]
    for col, (name, _, fmt) in enumerate(panels, start=1):
        fig.add_trace(
            go.Bar(
                x=personas["persona"],
                y=personas[name],
                marker_color=colors,
                showlegend=False,
                hovertemplate=f"%{{x}}: %{{y:{fmt}}}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    if alive:
        fig.update_yaxes(tickformat=".0%", range=[0, 1.05], row=1, col=2)
    # Undiscounted revenue of the horizon (the clv column discounts it): named as it is.
    fig.update_layout(title="What each persona is expected to buy", height=420, **_LAYOUT)
    return fig


def predicted_actual_chart(customers: pd.DataFrame) -> go.Figure:
    """Predicted against actual purchases in the backtest window, one point per customer.

    Parameters
    ----------
    customers : pandas.DataFrame
        expected_purchases, actual_purchases, persona.

    Returns
    -------
    plotly.graph_objects.Figure
        A scatter with the diagonal (a perfect prediction).
    """
    top = float(max(customers["expected_purchases"].max(), customers["actual_purchases"].max()))
    fig = _figure()
    for persona, part in customers.groupby("persona", sort=False):
        fig.add_trace(
            go.Scatter(
                x=part["expected_purchases"],
                y=part["actual_purchases"],
                mode="markers",
                name=str(persona),
                marker={
                    "color": PERSONA_COLORS.get(str(persona), "#999999"),
                    "size": 5,
                    "opacity": 0.5,
                },
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[0, top],
            y=[0, top],
            mode="lines",
            name="perfect",
            line={"dash": "dot", "color": "#555"},
        )
    )
    fig.update_layout(
        title="Backtest: predicted against actual purchase days per customer",
        xaxis_title="predicted",
        yaxis_title="actual",
        height=480,
        **_LAYOUT,
    )
    return fig


def frequency_chart(table: pd.DataFrame) -> go.Figure:
    """Mean holdout purchases, actual and predicted, by calibration frequency (0 .. 7+)."""
    fig = _figure()
    for name, color in (("actual", ACTUAL), ("predicted", PREDICTED)):
        fig.add_trace(
            go.Bar(
                x=table["frequency"],
                y=table[name],
                name=name,
                marker_color=color,
                customdata=table["customers"],
                hovertemplate=f"%{{x}} repeat purchases (%{{customdata:,}} customers): "
                f"%{{y:.2f}} {name}<extra></extra>",
            )
        )
    fig.update_layout(
        title="Holdout purchases per customer by calibration repeat purchases",
        xaxis_title="repeat purchase days in the calibration period",
        yaxis_title="mean purchase days in the holdout window",
        barmode="group",
        height=420,
        **_LAYOUT,
    )
    return fig


def tracking_chart(table: pd.DataFrame) -> go.Figure:
    """Weekly cumulative repeat purchases, actual against predicted, across both periods."""
    fig = _figure()
    fig.add_trace(
        go.Scatter(x=table["week_end"], y=table["actual"], name="actual", line={"color": ACTUAL})
    )
    fig.add_trace(
        go.Scatter(
            x=table["week_end"],
            y=table["predicted"],
            name="predicted",
            line={"color": PREDICTED, "dash": "dash"},
        )
    )
    holdout = table[table["period"] == "holdout"]
    if len(holdout):
        fig.add_vrect(
            x0=holdout["week_end"].iloc[0],
            x1=holdout["week_end"].iloc[-1],
            fillcolor="#999999",
            opacity=0.12,
            line_width=0,
            annotation_text="holdout",
            annotation_position="top left",
        )
    fig.update_layout(
        title="Cumulative repeat purchases of the calibration customers, week by week",
        yaxis_title="repeat purchase days",
        height=420,
        **_LAYOUT,
    )
    return fig


def deciles_chart(table: pd.DataFrame) -> go.Figure:
    """Predicted against actual holdout revenue per decile of predicted value."""
    fig = _figure()
    labels = [f"D{d}" for d in table["decile"]]
    for name, column, color in (
        ("actual", "actual_revenue", ACTUAL),
        ("predicted", "predicted_revenue", PREDICTED),
    ):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=table[column],
                name=name,
                marker_color=color,
                hovertemplate=f"%{{x}}: %{{y:,.0f}} {name}<extra></extra>",
            )
        )
    gini = float(table["gini"].iloc[0]) if len(table) else float("nan")
    fig.update_layout(
        title=f"Holdout revenue by decile of predicted value (Gini of the ranking {gini:.2f})",
        xaxis_title="decile of predicted value (D1 = highest)",
        yaxis_title="revenue in the holdout window",
        barmode="group",
        height=420,
        **_LAYOUT,
    )
    return fig
