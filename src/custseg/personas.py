"""Business names for clusters, assigned deterministically from their centroids.

Each persona is a prototype in the standardised (R, F, M) standing space, where
R = -recency (recent is high), F = frequency and M = monetary. The cluster with the best
combined standing is Champions; the others are matched to the remaining prototypes by a
minimum-cost assignment (Hungarian algorithm) on squared distances. The result depends
only on the set of centroids, never on label or row order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np
import numpy.typing as npt

from custseg.clustering import value_score
from custseg.errors import UserError

__all__ = [
    "AT_RISK",
    "PERSONAS",
    "VALUABLE",
    "Persona",
    "assign_personas",
    "persona_by_name",
    "playbook",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Persona:
    """A named customer type.

    Attributes
    ----------
    name : str
        Business name.
    r, f, m : float
        Prototype standing in standard deviations (R is recency reversed: recent is high).
    description : str
        One line on who these customers are.
    action : str
        The suggested marketing action.
    claims : tuple of str
        What the name says of its customers, checked on their medians against all
        customers' (see :data:`CLAIMS`); a cluster whose medians contradict one is never
        given the name.
    """

    name: str
    r: float
    f: float
    m: float
    description: str
    action: str
    claims: tuple[str, ...] = ()


#: The vocabulary, as data. Champions must stay first (the best cluster takes it).
PERSONAS: tuple[Persona, ...] = (
    Persona(
        "Champions",
        1.0,
        1.5,
        1.5,
        "Bought recently, buy often and spend the most.",
        "Reward them: early access, loyalty perks, ask for reviews and referrals.",
        ("recent", "frequent", "high_spend"),
    ),
    Persona(
        "Loyal",
        0.5,
        1.0,
        1.0,
        "Buy regularly and spend well; not quite the most recent.",
        "Upsell higher-value products and enrol them in the loyalty programme.",
        ("frequent", "high_spend"),
    ),
    Persona(
        "Potential Loyalists",
        0.9,
        0.3,
        0.3,
        "Recent customers with a few orders and average spend.",
        "Offer a membership or bundle to turn them into regulars.",
        ("recent",),
    ),
    Persona(
        "New Customers",
        1.2,
        -0.9,
        -0.6,
        "Made their first purchase recently.",
        "Onboard them: welcome series, first-repeat-purchase incentive.",
        ("recent", "infrequent"),
    ),
    Persona(
        "Promising",
        0.6,
        -0.4,
        -0.1,
        "Fairly recent buyers with little history yet.",
        "Build the relationship: recommendations based on their first purchases.",
        ("recent", "infrequent"),
    ),
    Persona(
        "Need Attention",
        0.0,
        0.0,
        0.0,
        "Middling recency, frequency and spend: neither the best nor gone.",
        "Limited-time offers and personalised recommendations to re-engage.",
        (),
    ),
    Persona(
        "About To Sleep",
        -0.4,
        -0.5,
        -0.4,
        "Below-average recency and frequency; slipping away.",
        "Share popular products and a modest discount before they lapse.",
        ("lapsed", "infrequent"),
    ),
    Persona(
        "At Risk",
        -0.8,
        0.5,
        0.5,
        "Used to buy often and spend well, but not for a while.",
        "Win them back: personalised reminders, renewals and helpful resources.",
        ("lapsed", "frequent", "high_spend"),
    ),
    Persona(
        "Can't Lose Them",
        -1.2,
        1.2,
        1.2,
        "Were among the best customers, long gone quiet.",
        "Reach out personally with strong win-back offers; find out what changed.",
        ("lapsed", "frequent", "high_spend"),
    ),
    Persona(
        "Hibernating",
        -0.8,
        -0.6,
        -0.5,
        "Last bought long ago, few orders and low spend.",
        "Offer relevant products and special discounts; keep contact costs low.",
        ("lapsed", "infrequent", "low_spend"),
    ),
    Persona(
        "Lost",
        -1.5,
        -1.0,
        -1.0,
        "Lowest recency, frequency and spend: one-off buyers from long ago.",
        "Try one reactivation campaign, otherwise exclude them from paid channels.",
        ("lapsed", "infrequent", "low_spend"),
    ),
)


#: The claims a name can make: (feature, comparison of the cluster's median with all
#: customers' median). Recency and frequency are whole counts (days, orders), so the
#: median itself counts as recent and as infrequent.
CLAIMS: dict[str, tuple[str, str]] = {
    "recent": ("recency_days", "<="),
    "lapsed": ("recency_days", ">"),
    "frequent": ("frequency", ">"),
    "infrequent": ("frequency", "<="),
    "high_spend": ("monetary", ">"),
    "low_spend": ("monetary", "<"),
}

#: Names for clusters that no persona's claims fit: they claim nothing.
CATCH_ALL: tuple[Persona, ...] = tuple(
    Persona(
        name,
        0.0,
        0.0,
        0.0,
        "No single pattern: no persona's profile fits this group's recency, frequency and "
        "spend together.",
        "Look at the group's customers before a campaign; treat them as Need Attention meanwhile.",
    )
    for name in ("Mixed", "Mixed B", "Mixed C")
)


def claim_holds(claim: str, cluster: float, overall: float) -> bool:
    """Return whether a cluster's median agrees with ``claim`` against all customers'."""
    op = CLAIMS[claim][1]
    return {"<": cluster < overall, ">": cluster > overall, "<=": cluster <= overall}[op]


def claims_fit(
    medians: Sequence[Mapping[str, float]],
    overall: Mapping[str, float],
    personas: Sequence[Persona] = PERSONAS,
) -> npt.NDArray[np.bool_]:
    """Return fits[i, j]: whether cluster i's medians satisfy every claim of persona j.

    Parameters
    ----------
    medians : sequence of mapping
        Per cluster: median recency_days, frequency and monetary of its customers.
    overall : mapping
        The same medians over all customers.
    personas : sequence of Persona
        The vocabulary.
    """
    return np.array(
        [
            [
                all(
                    claim_holds(c, float(m[CLAIMS[c][0]]), float(overall[CLAIMS[c][0]]))
                    for c in p.claims
                )
                for p in personas
            ]
            for m in medians
        ],
        dtype=bool,
    ).reshape(len(medians), len(personas))


def persona_by_name(name: str) -> Persona:
    """Return the persona called ``name``."""
    for persona in (*PERSONAS, *CATCH_ALL):
        if persona.name == name:
            return persona
    raise KeyError(name)


def assign_personas(
    centroids: FloatArray,
    personas: Sequence[Persona] = PERSONAS,
    fits: npt.NDArray[np.bool_] | None = None,
) -> list[str]:
    """Name each cluster from its standardised centroid, never against its numbers.

    The best cluster is Champions if its medians bear the name's claims; the others get the
    nearest prototypes by a minimum-cost assignment in which a name whose claims the
    cluster's medians contradict is forbidden; a cluster left without a fitting name is
    "Mixed" (then "Mixed B", "Mixed C").

    Parameters
    ----------
    centroids : numpy.ndarray of shape (k, 3)
        Standardised (recency, frequency, monetary) centroids.
    personas : sequence of Persona
        The vocabulary; the first entry goes to the best cluster.
    fits : numpy.ndarray of bool, shape (k, len(personas)), optional
        :func:`claims_fit` of the clusters (default: every name fits, as when only the
        centroids are known).

    Returns
    -------
    list of str
        ``names[i]`` is the persona of cluster ``i``; all distinct.

    Raises
    ------
    ValueError
        If there are more clusters than personas.

    Examples
    --------
    >>> import numpy as np
    >>> assign_personas(np.array([[1.5, -1.0, -1.0], [-1.0, 1.4, 1.5]]))
    ['Lost', 'Champions']
    """
    k = len(centroids)
    if k > len(personas):
        raise ValueError(f"{k} clusters but only {len(personas)} persona names")
    allowed = np.ones((k, len(personas)), dtype=bool) if fits is None else fits
    standing = np.column_stack([-centroids[:, 0], centroids[:, 1], centroids[:, 2]])
    score = np.round(value_score(centroids), 12)
    # Best combined standing; ties broken by coordinates so the choice never depends on order.
    best = int(np.lexsort([standing[:, 2], standing[:, 1], standing[:, 0], score])[-1])
    names = [""] * k
    rest = list(range(k))
    if allowed[best, 0]:
        names[best] = personas[0].name
        rest.remove(best)
    if rest:
        protos = np.array([[p.r, p.f, p.m] for p in personas[1:]])
        cost = ((standing[rest][:, None, :] - protos[None, :, :]) ** 2).sum(axis=2)
        cost = np.where(allowed[rest][:, 1:], np.round(cost, 12), _FORBIDDEN)
        spare = np.full((len(rest), len(CATCH_ALL)), _CATCH_ALL_COST)
        mixed = []
        for row, col in enumerate(cheapest_assignment(np.hstack([cost, spare]))):
            if col < len(protos):
                names[rest[row]] = personas[1 + col].name
            else:
                mixed.append(rest[row])
        # "Mixed" for the best-standing of them, then "Mixed B", ...
        for i, cluster in enumerate(sorted(mixed, key=lambda c: (-score[c], c))):
            names[cluster] = CATCH_ALL[i].name
    return names


#: Costs in the assignment: a contradicted name is never taken while a catch-all is free.
_FORBIDDEN, _CATCH_ALL_COST = 1e12, 1e6


def cheapest_assignment(cost: FloatArray) -> list[int]:
    """Give each row its own column so that the summed cost is the smallest possible.

    An exact dynamic programme over the sets of columns taken (rows <= columns <= 16): for
    the dozen personas custseg names this takes a millisecond, where importing
    ``scipy.optimize`` for its ``linear_sum_assignment`` took 0.4 s of every run. Where
    several assignments cost the same, the programme's fixed order picks one, so the
    answer depends on the matrix alone.

    Parameters
    ----------
    cost : numpy.ndarray of shape (rows, columns)
        Finite costs, rows <= columns <= 16.

    Returns
    -------
    list of int
        The column of each row.

    Examples
    --------
    >>> import numpy as np
    >>> cheapest_assignment(np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0]]))
    [1, 0]
    """
    rows, cols = cost.shape
    if rows > cols or cols > 16:
        raise ValueError(f"cannot assign {rows} rows to {cols} columns")
    masks = np.arange(1 << cols)
    best = np.full(1 << cols, np.inf)
    best[0] = 0.0
    choice = np.full((rows, 1 << cols), -1, dtype=np.int64)
    for row in range(rows):
        new = np.full(1 << cols, np.inf)
        for col in range(cols):
            bit = 1 << col
            free = (masks & bit) == 0
            total = best[free] + cost[row, col]
            target = masks[free] | bit
            better = total < new[target]
            new[target[better]] = total[better]
            choice[row, target[better]] = col
        best = new
    taken = int(np.argmin(np.where(np.bitwise_count(masks) == rows, best, np.inf)))
    out = [0] * rows
    for row in reversed(range(rows)):
        col = int(choice[row, taken])
        out[row] = col
        taken &= ~(1 << col)
    return out


#: Personas worth the most; a move from one of these to :data:`AT_RISK` is flagged.
VALUABLE = ("Champions", "Loyal", "Potential Loyalists")
#: Personas drifting away or gone.
AT_RISK = ("About To Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost")


def playbook(overrides: Mapping[str, Any] | None = None) -> dict[str, dict[str, str]]:
    """Return the action, channel and timing of every persona.

    Parameters
    ----------
    overrides : mapping, optional
        Persona name -> entry with action, channel and timing (``playbook`` in the YAML);
        replaces the packaged default of that persona.

    Returns
    -------
    dict
        Persona name -> {"action", "channel", "timing"}.

    Raises
    ------
    UserError
        For a name that is not a persona.
    """
    import yaml

    text = files("custseg").joinpath("data/playbook.yml").read_text(encoding="utf-8")
    plays: dict[str, dict[str, str]] = {
        name: {k: str(v) for k, v in entry.items()} for name, entry in yaml.safe_load(text).items()
    }
    for name, entry in (overrides or {}).items():
        if name not in plays:
            raise UserError(
                f"playbook: {name!r} is not a persona; the personas are "
                + ", ".join(repr(p) for p in plays)
                + "."
            )
        data = entry.model_dump() if hasattr(entry, "model_dump") else dict(entry)
        plays[name] = {k: str(data[k]) for k in ("action", "channel", "timing")}
    return plays
