"""The compare table: every flat param and metric summary of up to 1,000 runs in one answer.

Three queries whatever the number of runs (the runs, their params, their metric summaries),
each on the runs' ids, so a page of parallel coordinates costs what one runs-list page does.
Authorization is in the query: ids outside your projects come back as `missing`.
"""

import math
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import in_ids
from server.errors import InvalidInput
from server.experiments.models import Experiment
from server.metrics.models import MetricSeries
from server.metrics.schemas import public_value
from server.projects.service import readable_project_ids
from server.runs import repository
from server.runs.models import Run, RunParam
from server.runs.schemas import CompareQuery, CompareRow, CompareTable, MetricSummaryCell
from server.users.models import User

_COLUMNS = (
    Run.id,
    Run.experiment_id,
    Run.state,
    Run.trial_index,
    Run.created_at,
    Experiment.name.label("experiment_name"),
)
"""What a row needs: never the spec or params JSON of 1,000 runs."""


def _rows(session: Session, user: User, ids: list[str]) -> dict[str, Any]:
    rows = session.execute(
        select(*_COLUMNS)
        .join(Experiment, Experiment.id == Run.experiment_id)
        .where(in_ids(session, Run.id, ids), Run.project_id.in_(readable_project_ids(user)))
    ).all()
    return {row.id: row for row in rows}


def _chosen_runs(
    session: Session, user: User, query: CompareQuery
) -> tuple[list[Any], list[str], bool]:
    """(the runs' rows in order, missing ids, truncated)."""
    if query.run_ids is not None:
        if query.filter:
            raise InvalidInput("give run_ids or a filter, not both", loc=["body", "filter"])
        wanted = list(dict.fromkeys(query.run_ids))
        by_id = _rows(session, user, wanted)
        return (
            [by_id[i] for i in wanted if i in by_id],
            [i for i in wanted if i not in by_id],
            False,
        )
    if not query.filter or not query.filter.strip():
        raise InvalidInput("give run_ids or a filter", loc=["body", "run_ids"])
    try:
        page, _ = repository.list_runs(
            session,
            user,
            states=None,
            owner_id=None,
            project_id=None,
            experiment_id=None,
            tag=None,
            text=None,
            sort="-created_at",
            cursor=None,
            limit=query.limit,
            filter_text=query.filter,
            load=False,
        )
    except InvalidInput as exc:
        # The list route reports the filter as a query parameter; here it is in the body.
        raise InvalidInput(exc.detail, loc=["body", "filter"]) from exc
    ids = [run_id for _, _, run_id in page[: query.limit]]
    by_id = _rows(session, user, ids)
    return [by_id[i] for i in ids if i in by_id], [], len(page) > query.limit


def compare_table(session: Session, user: User, query: CompareQuery) -> CompareTable:
    runs, missing, truncated = _chosen_runs(session, user, query)
    ids = [run.id for run in runs]
    params: dict[str, dict[str, Any]] = defaultdict(dict)
    metrics: dict[str, dict[str, MetricSummaryCell]] = defaultdict(dict)
    if ids:
        # value_num and value_text rather than the JSON value: 10,000 JSON decodes were most
        # of the request's time, and the charts only place values (as the filter compares them).
        for run_id, key, number, text in session.execute(
            select(RunParam.run_id, RunParam.key, RunParam.value_num, RunParam.value_text).where(
                in_ids(session, RunParam.run_id, ids)
            )
        ):
            params[run_id][key] = text if text is not None else number
        for row in session.execute(
            select(
                MetricSeries.run_id,
                MetricSeries.key,
                MetricSeries.last_step,
                MetricSeries.last_value,
                MetricSeries.min_value,
                MetricSeries.max_value,
            ).where(in_ids(session, MetricSeries.run_id, ids), MetricSeries.points > 0)
        ):
            metrics[row.run_id][row.key] = MetricSummaryCell.model_construct(
                last=_wire(row.last_value),
                min=_wire(row.min_value),
                max=_wire(row.max_value),
                last_step=row.last_step,
            )
    return CompareTable(
        runs=[
            CompareRow(
                id=run.id,
                experiment_id=run.experiment_id,
                experiment_name=run.experiment_name,
                state=run.state,
                trial_index=run.trial_index,
                created_at=run.created_at,
                params=params[run.id],
                metrics=metrics[run.id],
            )
            for run in runs
        ],
        param_keys=sorted({k for p in params.values() for k in p}),
        metric_keys=sorted({k for m in metrics.values() for k in m}),
        missing=missing,
        truncated=truncated,
    )


def _wire(value: float | None) -> float | str:
    # NULL summaries are NaN (SQLite stores no NaN); JSON carries non-finite values as text.
    return public_value(math.nan if value is None else value)
