"""``--to-db URL``: a command's results written into a database (see :mod:`custseg.io.db_out`).

One function per command picks the tables it writes; :func:`custseg.io.db_out.write_results`
writes them in one transaction beside the run's record and, where the command assigns
personas, the persona history.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from custseg.config import Settings

__all__ = ["write_to_db"]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def write_to_db(url: str, command: str, result: Any, settings: Settings, source: str) -> str:
    """Write ``result`` of ``command`` (run, clv, cohorts, migrate) to the database at ``url``.

    Parameters
    ----------
    url : str
        The database (``--to-db``).
    command : str
        Which command produced ``result``.
    result : object
        The command's result (RunResult, ClvResult, CohortResult, Migration).
    settings : Settings
        The parameters used (recorded in ``custseg_runs``).
    source : str
        The input, as every output names it (no password).

    Returns
    -------
    str
        The run's id.
    """
    from custseg.io.db_out import write_results

    parameters = settings.model_dump(mode="json")
    personas = None
    as_of: str | None = None
    k: int | None = None
    if command == "run":
        tables = {
            "customers": result.customers,
            "segments": result.segments,
            "k_selection": result.k_table,
        }
        personas = result.customers
        as_of, k = result.quality.as_of, int(result.model.k)
    elif command == "clv":
        tables = {"clv": result.customers, "clv_personas": result.personas}
        as_of = str(result.params.get("calibration_end") or "") or None
    elif command == "cohorts":
        tables = {"cohorts": result.cohorts, "cohort_personas": result.persona_retention}
    elif command == "migrate":
        tables = {"migration": result.matrix, "movers": result.moved}
        personas = result.after.customers
        as_of, k = result.after.quality.as_of, int(result.model.k)
    else:  # pragma: no cover - the CLI offers --to-db on these four only
        raise ValueError(command)
    started = getattr(getattr(result, "run_log", None), "started_at", "") or _now()
    forget: frozenset[str] = frozenset()
    if settings.cleaning.suppress is not None:
        from custseg.suppress import read_suppression

        forget = read_suppression(settings.cleaning.suppress).as_written()
    return write_results(
        url,
        command=command,
        started_at=started,
        source=source,
        as_of=as_of,
        k=k,
        parameters=parameters,
        tables=tables,
        personas=personas,
        forget=forget,
    )
