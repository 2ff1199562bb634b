"""Hot queries: declared once with piccolo, compiled once per engine, bound and run on each call.

Piccolo builds and compiles every query in Python, about 200 us a query, while the same SELECT sent
through eventapp's SQLite engine takes about 13 us. A query a hot path runs on every request
(resolving the caller, check-in, booking a meeting, the programme snapshot) is declared once:

    from eventapp.hotpath import HotQuery, Param

    TOKEN_OWNER = HotQuery(
        lambda: AuthToken.select(AuthToken.user).where(AuthToken.token_hash == Param("digest"))
    )

    row = await TOKEN_OWNER.first(digest=digest)      # or .rows(...), or .value(...)

The first call on an engine renders the piccolo query into that engine's SQL, with its
placeholders (`?` on SQLite, `$n` on PostgreSQL) where the `Param`s stand; each call then only binds
the values and runs the statement: on SQLite straight on the engine's long-lived connections (the
reader outside a transaction, the transaction's own connection inside one, the writer behind its
lock for a write), on PostgreSQL through the asyncpg pool (or the transaction's connection), where
asyncpg keeps the statement prepared per connection. Integrity and data errors become the same
domain errors as piccolo's queries raise (`eventapp.db`).

What a hot query may hold: any select, insert (with `.returning(...)`), update or delete piccolo
can render as one statement, with scalar parameters. A list parameter (`is_in`) changes the SQL
with its length, so it cannot be a `Param`. Rows come back as dicts with the values the engine's
driver gives (the same as piccolo's for every column type eventapp uses; JSON columns are not
decoded).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from eventapp.db import (
    _DATA_ERRORS,
    _INTEGRITY_ERRORS,
    FastSQLiteEngine,
    InlineConnection,
    _map_errors,
)

_READ_PREFIXES = ("SELECT", "WITH")


class Param:
    """Where a value is bound on each call of a `HotQuery`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Param({self.name!r})"


class _Compiled:
    __slots__ = ("engine", "sql", "plan", "names", "is_read")

    def __init__(self, engine: Engine, sql: str, args: list[Any]) -> None:
        self.engine = engine
        self.sql = sql
        # Each placeholder: a Param's name, or a constant the query itself holds.
        self.plan = [(True, arg.name) if isinstance(arg, Param) else (False, arg) for arg in args]
        self.names = (
            tuple(name for _, name in self.plan) if all(is_p for is_p, _ in self.plan) else None
        )
        self.is_read = sql.lstrip()[:6].upper().startswith(_READ_PREFIXES)

    def bind(self, params: dict[str, Any]) -> list[Any]:
        if self.names is not None:
            return [params[name] for name in self.names]
        return [params[value] if is_param else value for is_param, value in self.plan]


class HotQuery:
    """A piccolo query rendered once per engine into SQL with placeholders, bound on each call."""

    __slots__ = ("_build", "_table", "_compiled")

    def __init__(self, build: Callable[[], Any]) -> None:
        """`build` returns the piccolo query, with `Param("name")` where values go.

        It is called on first use (once per engine), so tables may be declared after the query.
        """
        self._build = build
        self._table: type[Table] | None = None
        self._compiled: _Compiled | None = None

    def _compile(self, engine: Engine | None = None) -> _Compiled:
        query = self._build()
        query = getattr(query, "query", query)  # .first() and friends wrap the query
        self._table = query.table
        engine = engine or query.table._meta.db
        querystrings = query.querystrings
        if len(querystrings) != 1:
            raise ValueError("A hot query must be one SQL statement")
        sql, args = querystrings[0].compile_string(engine_type=engine.engine_type)
        self._compiled = _Compiled(engine, sql, args)
        return self._compiled

    def compiled(self) -> _Compiled:
        """The statement for the engine the query's table is bound to now."""
        compiled = self._compiled
        if compiled is None or compiled.engine is not self._table._meta.db:  # type: ignore[union-attr]
            compiled = self._compile()
        return compiled

    @property
    def sql(self) -> str:
        return self.compiled().sql

    async def rows(self, **params: Any) -> list[dict]:
        compiled = self.compiled()
        args = compiled.bind(params)
        engine = compiled.engine
        try:
            if isinstance(engine, FastSQLiteEngine):
                transaction = engine.current_transaction.get()
                if transaction is not None:
                    return await transaction.connection.execute_fetchall(compiled.sql, args)
                if compiled.is_read:
                    return await engine.connections.reader().execute_fetchall(compiled.sql, args)
                async with engine.connections.writer() as connection:
                    return await connection.execute_fetchall(compiled.sql, args)
            if isinstance(engine, PostgresEngine):
                transaction = engine.current_transaction.get()
                if transaction is not None:
                    records = await transaction.connection.fetch(compiled.sql, *args)
                elif engine.pool is not None:
                    records = await engine.pool.fetch(compiled.sql, *args)
                else:
                    records = await engine._run_in_new_connection(compiled.sql, args)
                return [dict(record) for record in records]
        except (*_INTEGRITY_ERRORS, *_DATA_ERRORS) as error:
            raise _map_errors(error) from error
        raise TypeError(f"HotQuery does not run on {type(engine).__name__}")

    def rows_on(self, connection: InlineConnection, **params: Any) -> list[sqlite3.Row]:
        """Synchronously, on the plain SQLite connection a `group_commit` write was handed:
        values as SQLite stores them (see `group_commit`)."""
        compiled = self.compiled()
        try:
            return connection.run(compiled.sql, compiled.bind(params)).fetchall()
        except (*_INTEGRITY_ERRORS, *_DATA_ERRORS) as error:
            raise _map_errors(error) from error

    def first_on(self, connection: InlineConnection, **params: Any) -> sqlite3.Row | None:
        rows = self.rows_on(connection, **params)
        return rows[0] if rows else None

    async def first(self, **params: Any) -> dict | None:
        """The first row, or None (add `.limit(1)` to the query when more could match)."""
        rows = await self.rows(**params)
        return rows[0] if rows else None

    async def value(self, **params: Any) -> Any:
        """The first column of the first row, or None."""
        rows = await self.rows(**params)
        return next(iter(rows[0].values())) if rows else None
