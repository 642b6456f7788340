"""The runs list's metric and param columns, sort and filter, in SQL.

Each metric key or param key the filter or the sort names is one outer join (metric_series
on (run_id, key), run_params on (run_id, key)); the columns of the page are read afterwards
for its runs only. A run without the metric or param never matches a comparison on it and
sorts last, in either direction.
"""

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, not_, or_, select
from sqlalchemy.orm import Session, aliased

from runyard.schemas.states import RunState
from server.errors import InvalidInput
from server.experiments.models import Experiment
from server.metrics.models import MetricSeries
from server.metrics.schemas import public_value
from server.pagination import SortKey
from server.runs.filter_expr import And, Compare, Expr, Field, FilterError, Not, Or, parse_field
from server.runs.models import Run, RunParam

MAX_COLUMNS = 50
MAX_JOINS = 16
BUILTIN_SORTS = ("created_at", "priority")


def parse_columns(names: list[str]) -> list[Field]:
    if len(names) > MAX_COLUMNS:
        raise InvalidInput(f"at most {MAX_COLUMNS} columns", loc=["query", "columns"])
    fields: list[Field] = []
    for index, name in enumerate(names):
        try:
            parsed = parse_field(name.strip())
        except FilterError as exc:
            raise InvalidInput(f"column {name!r}: {exc}", loc=["query", "columns", index]) from exc
        if parsed.kind == "attr":
            raise InvalidInput(
                f"column {name!r}: only metrics.<key> and params.<key> are extra columns "
                f"({parsed.key} is on every row already)",
                loc=["query", "columns", index],
            )
        if parsed not in fields:
            fields.append(parsed)
    return fields


def parse_sort(name: str) -> tuple[Field | str, bool]:
    """(a builtin sort column or a metric/param field, descending)."""
    descending = name.startswith("-")
    bare = name[1:] if descending else name
    if bare in BUILTIN_SORTS:
        return bare, descending
    try:
        parsed = parse_field(bare)
    except FilterError as exc:
        raise InvalidInput(f"sort {name!r}: {exc}", loc=["query", "sort"]) from exc
    if parsed.kind == "attr":
        raise InvalidInput(
            f"sort {name!r}: sort by created_at, priority, metrics.<key> or params.<key> "
            "('-' in front for descending)",
            loc=["query", "sort"],
        )
    return parsed, descending


@dataclass
class Joins:
    """The outer joins a query needs, one per metric or param key."""

    metrics: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    experiment: bool = False
    """Whether the filter names the experiment (the query then joins experiments)."""

    def metric(self, key: str) -> Any:
        if key not in self.metrics:
            self._check_room()
            self.metrics[key] = aliased(MetricSeries, name=f"m{len(self.metrics)}")
        return self.metrics[key]

    def param(self, key: str) -> Any:
        if key not in self.params:
            self._check_room()
            self.params[key] = aliased(RunParam, name=f"p{len(self.params)}")
        return self.params[key]

    def _check_room(self) -> None:
        if len(self.metrics) + len(self.params) >= MAX_JOINS:
            raise InvalidInput(
                f"the filter and sort may name at most {MAX_JOINS} different metrics and params",
                loc=["query", "filter"],
            )

    def apply(self, query: Select[Any]) -> Select[Any]:
        for key, alias in self.metrics.items():
            query = query.outerjoin(alias, and_(alias.run_id == Run.id, alias.key == key))
        for key, alias in self.params.items():
            query = query.outerjoin(alias, and_(alias.run_id == Run.id, alias.key == key))
        return query


def metric_column(joins: Joins, target: Field) -> Any:
    alias = joins.metric(target.key)
    return {"last": alias.last_value, "min": alias.min_value, "max": alias.max_value}[target.agg]


def sort_key(session: Session, joins: Joins, sort: str) -> SortKey:
    target, descending = parse_sort(sort)
    if isinstance(target, str):
        return SortKey(
            sort,
            column=getattr(Run, target),
            id_column=Run.id,
            descending=descending,
            is_datetime=target == "created_at",
        )
    if target.kind == "metric":
        return SortKey(
            sort, metric_column(joins, target), Run.id, descending, False, "float", nullable=True
        )
    # A param sorts by number when any run has a number for it, otherwise by text.
    numeric = session.scalar(
        select(exists().where(RunParam.key == target.key, RunParam.value_num.is_not(None)))
    )
    alias = joins.param(target.key)
    if numeric:
        return SortKey(f"{sort}:num", alias.value_num, Run.id, descending, False, "float", True)
    return SortKey(f"{sort}:text", alias.value_text, Run.id, descending, False, "text", True)


def compile_filter(expr: Expr, joins: Joins, source: str) -> ColumnElement[bool]:
    if isinstance(expr, And):
        return and_(
            compile_filter(expr.left, joins, source), compile_filter(expr.right, joins, source)
        )
    if isinstance(expr, Or):
        return or_(
            compile_filter(expr.left, joins, source), compile_filter(expr.right, joins, source)
        )
    if isinstance(expr, Not):
        return not_(compile_filter(expr.inner, joins, source))
    return _comparison(expr, joins, source)


def _comparison(node: Compare, joins: Joins, source: str) -> ColumnElement[bool]:
    target, value = node.field, node.value
    if target.kind == "metric":
        if isinstance(value, str | bool):
            raise _type_error(node, source, f"{target.name} is a number; compare it with one")
        column = metric_column(joins, target)
        return _op(column, node.op, float(value))
    if target.kind == "param":
        alias = joins.param(target.key)
        if isinstance(value, str):
            return _op(alias.value_text, node.op, value)
        return _op(alias.value_num, node.op, float(value))
    if target.key == "state":
        states = [s.value for s in RunState]
        if not isinstance(value, str) or value not in states:
            raise _type_error(node, source, f"state is one of {', '.join(states)}")
        return _op(Run.state, node.op, value)
    if target.key == "experiment":
        joins.experiment = True
        if not isinstance(value, str):
            raise _type_error(node, source, "experiment is a name; compare it with a 'quoted' text")
        return _op(Experiment.name, node.op, value)
    if isinstance(value, str | bool) or not float(value).is_integer():
        raise _type_error(node, source, f"{target.key} is a whole number")
    return _op(getattr(Run, target.key), node.op, int(value))


def _type_error(node: Compare, source: str, message: str) -> InvalidInput:
    return InvalidInput(str(FilterError(message, node.position, source)), loc=["query", "filter"])


def _op(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "=":
        return column == value  # type: ignore[no-any-return]
    if op == "!=":
        return and_(column.is_not(None), column != value)
    if op == "<":
        return column < value  # type: ignore[no-any-return]
    if op == "<=":
        return column <= value  # type: ignore[no-any-return]
    if op == ">":
        return column > value  # type: ignore[no-any-return]
    return column >= value  # type: ignore[no-any-return]


def column_values(
    session: Session, run_ids: list[str], columns: list[Field]
) -> dict[str, dict[str, Any]]:
    """{run id: {column name: value}} for the page's runs; a missing value is None."""
    out: dict[str, dict[str, Any]] = {run_id: {c.name: None for c in columns} for run_id in run_ids}
    metric_keys = {c.key for c in columns if c.kind == "metric"}
    param_keys = {c.key for c in columns if c.kind == "param"}
    if run_ids and metric_keys:
        rows = session.execute(
            select(
                MetricSeries.run_id,
                MetricSeries.key,
                MetricSeries.points,
                MetricSeries.last_value,
                MetricSeries.min_value,
                MetricSeries.max_value,
            ).where(MetricSeries.run_id.in_(run_ids), MetricSeries.key.in_(metric_keys))
        ).all()
        by_key = {(r.run_id, r.key): r for r in rows}
        for run_id in run_ids:
            for c in columns:
                row = by_key.get((run_id, c.key)) if c.kind == "metric" else None
                if row is not None and row.points:
                    raw = {"last": row.last_value, "min": row.min_value, "max": row.max_value}[
                        c.agg
                    ]
                    out[run_id][c.name] = public_value(math.nan if raw is None else raw)
    if run_ids and param_keys:
        params = session.execute(
            select(RunParam.run_id, RunParam.key, RunParam.value).where(
                RunParam.run_id.in_(run_ids), RunParam.key.in_(param_keys)
            )
        ).all()
        for run_id, key, value in params:
            out[run_id][f"params.{key}"] = value
    return out
