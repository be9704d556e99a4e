"""The one home of hand-written SQL: bulk writes that Django's ORM makes too slow.

Ingestion and delivery write thousands of rows per batch. `bulk_create` and `bulk_update`
prepare every value in Python and split statements at SQLite's parameter limit; the
functions here send one statement per batch instead (docs/benchmarks/ingest.md and
delivery.md give the measurements). Only quoted identifiers from a model's meta go into
the SQL text; every value is a parameter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Case, Field, Model, QuerySet, Value, When


def insert_many(
    model: type[Model], names: list[str], rows: list[list[Any]], *, conflict: Sequence[str] = ()
) -> None:
    """One `executemany` INSERT for many rows; duplicates on `conflict` are left alone.

    bulk_create would do the same writes, but its per-value preparation costs as much
    as feedparser's whole parse on a 2,000-entry feed (bench/bench_ingest.py), and on
    SQLite it splits at 999 parameters, i.e. every ~40 papers. executemany binds row by
    row: one statement per batch, and the values only go through the backend's adapters.
    """
    if not rows:
        return
    meta = model._meta
    fields = [_concrete(model, name) for name in names]
    quote = connection.ops.quote_name
    # Only quoted identifiers from the model's meta go into the text; values are parameters.
    table = quote(meta.db_table)
    columns = ", ".join(quote(_column(f)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    if conflict:
        target = ", ".join(quote(_column(_concrete(model, name))) for name in conflict)
        sql += f" ON CONFLICT ({target}) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.executemany(sql, _prepared(fields, rows))


def update_many(model: type[Model], names: list[str], rows: list[list[Any]]) -> None:
    """One `executemany` UPDATE by primary key; each row is the values of `names`, then pk.

    bulk_update builds a CASE per field and, on SQLite, a statement per ~300 rows.
    """
    if not rows:
        return
    meta = model._meta
    fields = [_concrete(model, name) for name in names]
    assert meta.pk is not None, "every model has a primary key"
    pk = _concrete(model, meta.pk.name)
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    assignments = ", ".join(f"{quote(_column(f))} = %s" for f in fields)
    sql = f"UPDATE {table} SET {assignments} WHERE {quote(_column(pk))} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, _prepared([*fields, pk], rows))


def _concrete(model: type[Model], name: str) -> Field:
    """The model's concrete field `name`: one with a column of its own."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise ValueError(f"{model.__name__}.{name} has no column")
    return field


def _column(field: Field) -> str:
    assert field.column is not None, "a concrete field"
    return field.column


def _prepared(fields: list[Any], rows: list[list[Any]]) -> list[list[Any]]:
    """Copies of `rows` with each value through its field's backend adapter, if it has one.

    Only dates, datetimes and JSON have one; the other columns are passed as they are.
    """
    adapters = [(i, adapt) for i, f in enumerate(fields) if (adapt := _adapter(f)) is not None]
    prepared = []
    for row in rows:
        if len(row) != len(fields):
            raise ValueError(f"a row of {len(row)} values for {len(fields)} columns")
        row = list(row)
        for i, adapt in adapters:
            row[i] = adapt(row[i])
        prepared.append(row)
    return prepared


def _adapter(model_field: Any) -> Any:
    """The function a value of `model_field` goes through before binding, or None."""
    ops = connection.ops
    kind = model_field.get_internal_type()
    if kind == "DateTimeField":
        return _memoised(ops.adapt_datetimefield_value)
    if kind == "DateField":
        return _memoised(ops.adapt_datefield_value)
    if kind == "JSONField":
        return lambda v: ops.adapt_json_value(v, model_field.encoder)
    return None


def _memoised(adapt: Any) -> Any:
    """`adapt`, once per distinct value of one statement (None stays None).

    A batch repeats its timestamps: every entry of a day's feed has the same
    announcement stamp, and `now` is one value per batch. Equal datetimes are the same
    instant, so they adapt to the same stored value.
    """
    done: dict[Any, Any] = {}

    def adapted(value: Any) -> Any:
        if value is None:
            return None
        try:
            return done[value]
        except KeyError:
            done[value] = result = adapt(value)
            return result

    return adapted


def json_rows(columns: Sequence[tuple[str, str]]) -> str | None:
    """A SELECT giving one row per element of a JSON array parameter (each element a list
    in `columns` order), so one statement can carry any number of rows; None where the
    database has no JSON table function we use."""
    if connection.vendor == "sqlite":
        picked = (f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns))
        return f"SELECT {', '.join(picked)} FROM json_each(%s)"  # noqa: S608 - our names
    if connection.vendor == "postgresql":
        picked = (f"(r->>{i})::{kind} AS {name}" for i, (name, kind) in enumerate(columns))
        return f"SELECT {', '.join(picked)} FROM jsonb_array_elements(%s::jsonb) AS r"  # noqa: S608
    return None


def insert_rows(model: type[Model], columns: Sequence[tuple[str, str]], rows: list[list]) -> None:
    """Inserts `rows` (values in `columns` order; a column is (name, SQL type)) in one
    statement however many (bulk_create on SQLite needs one per ~200 rows)."""
    if not rows:
        return
    select = json_rows(columns)
    if select is None:
        names = [name for name, _ in columns]
        model._default_manager.bulk_create(
            [model(**dict(zip(names, row, strict=True))) for row in rows], batch_size=1000
        )
        return
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(name) for name, _ in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({quoted}) {select}", [json.dumps(rows)])  # noqa: S608 - names are ours, values a parameter


def insert_rows_once(
    model: type[Model],
    columns: Sequence[tuple[str, str]],
    rows: list[list],
    *,
    parent: str,
    parents: QuerySet,
) -> int:
    """As `insert_rows`, but only the rows whose `parent` column names a row `parents`
    (a filtered queryset) still selects and that has no rows in `model` yet; returns how
    many went in. Run again, or by two callers at once, a parent's rows go in once."""
    if not rows:
        return 0
    select = json_rows(columns)
    if select is None:
        names = [name for name, _ in columns]
        index = names.index(parent)
        open_ = set(parents.values_list("pk", flat=True)) - set(
            model._default_manager.values_list(parent, flat=True).distinct()
        )
        kept = [model(**dict(zip(names, row, strict=True))) for row in rows if row[index] in open_]
        model._default_manager.bulk_create(kept, batch_size=1000, ignore_conflicts=True)
        return len(kept)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_list = ", ".join(quote(name) for name, _ in columns)
    picked = ", ".join(f"v.{name}" for name, _ in columns)
    where, where_params = _where_of(parents)
    # NOT EXISTS keeps a second writer's different picks out (one statement: SQLite
    # serialises it); ON CONFLICT covers two PostgreSQL transactions racing past it.
    sql = (
        f"INSERT INTO {table} ({column_list}) SELECT {picked} FROM ({select}) AS v "  # noqa: S608 - names are ours, values parameters
        f"WHERE v.{parent} IN ({where}) AND NOT EXISTS "
        f"(SELECT 1 FROM {table} AS o WHERE o.{quote(parent)} = v.{parent}) "
        "ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows), *where_params])
        return cursor.rowcount


def update_each(
    rows_of: QuerySet, rows: list[list], columns: list[str], values: dict[str, Any]
) -> None:
    """One UPDATE for rows that each get their own `columns` (row = [pk, *columns]) and
    all get `values`; only rows that `rows_of` (a filtered queryset) still selects."""
    select = json_rows([("id", "bigint")] + [(c, "text") for c in columns])
    if select is None:
        cases = {
            column: Case(*(When(pk=row[0], then=Value(row[n])) for row in rows), default=Value(""))
            for n, column in enumerate(columns, start=1)
        }
        rows_of.filter(pk__in=[row[0] for row in rows]).update(**values, **cases)
        return
    model = rows_of.model
    table = connection.ops.quote_name(model._meta.db_table)
    fields = {f.name: f for f in model._meta.concrete_fields}
    assignments = [f"{connection.ops.quote_name(name)} = %s" for name in values]
    assignments += [f"{connection.ops.quote_name(c)} = v.{c}" for c in columns]
    params = [fields[name].get_db_prep_save(value, connection) for name, value in values.items()]
    # The filter's own SQL keeps the ownership condition (claim token, status) in one place.
    where, where_params = _where_of(rows_of)
    sql = (
        f"UPDATE {table} SET {', '.join(assignments)} FROM ({select}) AS v "  # noqa: S608 - names are ours, values parameters
        f"WHERE {table}.id = v.id AND {table}.id IN ({where})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, json.dumps(rows), *where_params])


def _where_of(queryset: QuerySet) -> tuple[str, tuple]:
    """The SELECT of `queryset`'s primary keys, as SQL and parameters."""
    return queryset.values("pk").query.sql_with_params()
