"""Set-based writes shared by every app (inventory is the base of the import chain, so all apps may import it).

On PostgreSQL these write a whole batch in one statement with prepared values; elsewhere they fall back to Django's
bulk_update / bulk_create. Both keep Django's semantics that callers rely on (primary keys set after insert).
`Writes` goes one step further: the writes of one transaction whose results are not read back, sent as one statement.
"""

import json

from django.db import connection, models

Statement = tuple[str, list]


def _column_values(field, objs: list, *, add: bool) -> list:
    """The column's values for these objects, prepared for the database (JSON as text)."""
    if add:
        values = [field.pre_save(obj, add=True) for obj in objs]  # auto_now_add, defaults already set on the instance
    else:
        values = [getattr(obj, field.attname) for obj in objs]
    if isinstance(field, models.JSONField):
        return [None if v is None else json.dumps(v, cls=field.encoder) for v in values]
    return [field.get_db_prep_save(v, connection) for v in values]


def _arrays(fields) -> str:
    """``%s::integer[], %s::varchar[], ...``: one array parameter per column (UNNEST). Without a length: a cast to
    varchar(n) would cut a longer value silently, where the column itself refuses it (as Django's own UNNEST insert)."""
    return ", ".join(f"%s::{f.cast_db_type(connection).split('(')[0]}[]" for f in fields)


def _update_statements(model, objs: list, fields: list[str], batch_size: int) -> list[Statement]:
    """``UPDATE t SET f = v.f FROM UNNEST(ids, f...) AS v WHERE t.id = v.id``, one per `batch_size` objects: one array
    per column, so the statement's text (and the driver's work on it) does not grow with the rows."""
    meta = model._meta
    columns = [meta.pk] + [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = ", ".join(quote(f.column) for f in columns)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
    statements = []
    for start in range(0, len(objs), batch_size):
        batch = objs[start : start + batch_size]
        statements.append((
            f"UPDATE {table} SET {assignments} FROM UNNEST({_arrays(columns)}) AS v ({names}) "
            f"WHERE {table}.{quote(meta.pk.column)} = v.{quote(meta.pk.column)}",
            [_column_values(f, batch, add=False) for f in columns],
        ))
    return statements


def _insert_statement(model, objs: list, *, returning: bool) -> Statement:
    """``INSERT INTO t (...) SELECT * FROM UNNEST(...)``: one array per column, values prepared directly."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_insert_rows")
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT * FROM UNNEST({_arrays(fields)})"
        + (f" RETURNING {quote(meta.pk.column)}" if returning else "")
    )
    return sql, [_column_values(f, objs, add=True) for f in fields]


def _set_pks(objs: list, pks) -> None:
    for obj, pk in zip(objs, pks):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def bulk_update_rows(model, objs: list, fields: list[str], *, batch_size: int = 1000) -> None:
    """Write each object's own values of `fields` to its row, one statement per `batch_size` objects.

    PostgreSQL: ``UPDATE t SET f = v.f FROM (VALUES (pk, f...), ...) AS v WHERE t.id = v.id``. Django's bulk_update
    builds a ``CASE WHEN id = .. THEN ..`` per field instead, which costs O(rows) Python expressions to build and
    O(rows²) comparisons in the database: for a batch of 500 items that was most of the batch's time. Other databases
    (SQLite) keep Django's bulk_update.
    """
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields, batch_size=batch_size)
        return
    with connection.cursor() as cursor:
        for sql, params in _update_statements(model, objs, fields, batch_size):
            cursor.execute(sql, params)


def bulk_insert_rows(model, objs: list, *, batch_size: int = 1000) -> list:
    """INSERT the objects, one statement per `batch_size`, and set their primary keys (as bulk_create does).

    PostgreSQL: the values are prepared directly (JSON as text, ``RETURNING id``): Django's bulk_create spent about
    two thirds of the time of a batch of 500 routing decisions (10 KB of JSON each) preparing and adapting values
    (~400 ms against ~150 ms). Other databases (SQLite): Django's bulk_create.
    """
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=batch_size)
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            cursor.execute(*_insert_statement(model, batch, returning=True))
            _set_pks(batch, (pk for (pk,) in cursor.fetchall()))
    return objs


class Writes:
    """The writes of one transaction whose results are not read back, sent together by `send()`.

    Nothing is written before `send()`, on either database, so a read between adding a write and sending it sees the
    data without it everywhere alike (a test on SQLite cannot pass on a read that PostgreSQL would not see).
    PostgreSQL: sent as ONE statement of data-modifying CTEs
    (``WITH w0 AS (UPDATE ...), w1 AS (INSERT ...) INSERT ... RETURNING id``): one round trip instead of one per table.
    All parts run on the same snapshot, so no part may read what another writes, and no row may be changed by two parts:
    each table may appear once per send (asserted). Constraints still hold row by row; foreign keys are checked at
    commit, as ever. Each part passes one array per column (UNNEST), so the statement stays small however many rows it
    writes.
    Other databases (SQLite): the same writes, one statement each, in the order they were added, with Django's bulk
    methods.
    """

    def __init__(self):
        self.one_statement = connection.vendor == "postgresql"
        self._parts: list[Statement] = []  # PostgreSQL
        self._calls: list = []  # other databases: the writes to run, in order
        self._tables: set[str] = set()

    def _table(self, table: str) -> None:
        assert table not in self._tables, f"{table} is written twice in one send: collect its rows and write them once"
        self._tables.add(table)

    def update_rows(self, model, objs: list, fields: list[str]) -> None:
        if not objs:
            return
        self._table(model._meta.db_table)
        if not self.one_statement:
            self._calls.append(lambda: model.objects.bulk_update(objs, fields, batch_size=1000))
            return
        self._parts.extend(_update_statements(model, objs, fields, batch_size=len(objs)))

    def insert_rows(self, model, objs: list) -> None:
        """Insert the objects (their primary keys are not read back)."""
        if not objs:
            return
        self._table(model._meta.db_table)
        if not self.one_statement:
            self._calls.append(lambda: model.objects.bulk_create(objs, batch_size=1000))
            return
        self._parts.append(_insert_statement(model, objs, returning=False))

    def counters_add(self, model, *, keys: list[str], counter: str, rows: dict[tuple, int]) -> None:
        """Add `rows` ({key values: n}) to the `counter` column of the rows with those `keys`, creating missing rows:
        one upsert, keys sorted (concurrent writers take the rows in one order)."""
        if not rows:
            return
        meta = model._meta
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        fields = [meta.get_field(name) for name in [*keys, counter]]
        columns = ", ".join(quote(f.column) for f in fields)
        ordered = sorted(rows.items())
        if self.one_statement:
            source = f"SELECT * FROM UNNEST({_arrays(fields)})"
            params = [[key[i] for key, _ in ordered] for i in range(len(keys))] + [[n for _, n in ordered]]
        else:
            source = "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(ordered))
            params = [value for key, n in ordered for value in (*key, n)]
        column = quote(meta.get_field(counter).column)
        self._table(meta.db_table)
        self.execute(
            f"INSERT INTO {table} ({columns}) {source} ON CONFLICT ({', '.join(quote(f.column) for f in fields[:-1])}) "
            f"DO UPDATE SET {column} = {table}.{column} + excluded.{column}",
            params,
        )

    def execute(self, sql: str, params: list) -> None:
        """A statement of the caller's own (an upsert, say), sent with the others."""
        if not self.one_statement:
            self._calls.append(lambda: _execute(sql, params))
            return
        self._parts.append((sql, list(params)))

    def send(self, *, insert_returning: tuple | None = None) -> None:
        """Send what was collected; `insert_returning=(model, objs)`: insert these too, as the statement's last part,
        and set their primary keys."""
        last = None
        objs = insert_returning[1] if insert_returning is not None else None
        if objs:
            self._table(insert_returning[0]._meta.db_table)
        parts, self._parts, calls, self._calls, self._tables = self._parts, [], self._calls, [], set()
        if not self.one_statement:
            for call in calls:
                call()
            if objs:
                insert_returning[0].objects.bulk_create(objs, batch_size=1000)
            return
        if objs:
            last = _insert_statement(insert_returning[0], objs, returning=True)
        if not parts and last is None:
            return
        with connection.cursor() as cursor:
            cursor.execute(*_chained(parts, last))
            if last is not None:
                _set_pks(objs, (pk for (pk,) in cursor.fetchall()))


def _execute(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _chained(parts: list[Statement], last: Statement | None) -> Statement:
    """One statement: every part a data-modifying CTE, then `last` (or, without it, the last part) as the main one."""
    if last is None:
        *parts, last = parts
    if not parts:
        return last
    ctes = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(parts))
    return f"WITH {ctes} {last[0]}", [p for _, params in parts for p in params] + list(last[1])
