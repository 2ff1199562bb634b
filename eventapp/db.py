"""The database layer: engine choice, a fast embedded SQLite engine, transactions, integrity errors.

SQLite is the embedded default. Piccolo's stock SQLiteEngine opens a new connection for every query
and uses the rollback journal, which caps an endpoint at a few hundred writes a second. The engine
here keeps long-lived connections in WAL mode with synchronous=NORMAL (a writer behind an
asyncio lock, a reader beside it), runs each statement inline on the event loop (microseconds,
cheaper than a thread hop), and starts every transaction with BEGIN IMMEDIATE so read-then-write
transactions never deadlock on the lock upgrade. Processes sharing the file take fair turns at the
write lock (`_WriterTurn`), waiting in a worker thread, never by blocking the loop; a writer that
cannot get in within `SQLITE_WRITE_WAIT_S` gets `Unavailable` (a 503). WAL checkpoints and reads
that grow with the data (`fetch_all_off_loop`) run in worker threads, off the loop. PostgreSQL
uses piccolo's engine with a pool opened with the app. Short synchronous writes on SQLite (the door
scan) may share one COMMIT with the others arriving in the same turn of the loop (`group_commit`).

Both engines turn integrity violations into one domain error, `IntegrityConflict`, whose `reason`
comes from the unique index that refused the write (see `UniqueIndex`).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString
from piccolo.table import Table

from eventapp.errors import IntegrityConflict, InvalidInput, Unavailable

# Waits for another process's write turn (see `_WriteTurn`), one at a time per process.
_FLOCK_WAITS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-write-turn")

T = TypeVar("T")

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------------
# Constraints piccolo cannot express on SQLite, declared once next to the tables they guard.


@dataclass(frozen=True)
class UniqueIndex:
    """A unique (optionally partial) index, created by raw SQL in a migration on both engines.

    `reason` is what a client sees in the 409 when a write breaks it, and `detail` the sentence a
    person reads (say what happened in their words: "Something is already on stage."); without
    one they read that the record would be a duplicate.
    """

    name: str
    table: str
    columns: tuple[str, ...]
    reason: str
    where: str | None = None
    detail: str | None = None


UNIQUE_INDEXES: dict[str, UniqueIndex] = {}


def unique_index(
    name: str,
    table: type[Table],
    columns: Sequence[str],
    reason: str,
    where: str | None = None,
    detail: str | None = None,
) -> UniqueIndex:
    index = UniqueIndex(name, table._meta.tablename, tuple(columns), reason, where, detail)
    UNIQUE_INDEXES[name] = index
    return index


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?:index '(?P<index>[^']+)'|(?P<cols>.+))")


def _constraint_from_sqlite(message: str) -> str | None:
    match = _SQLITE_UNIQUE.search(message)
    if not match:
        return None
    if match["index"]:
        return match["index"]
    pairs = [part.strip().split(".", 1) for part in match["cols"].split(",")]
    table = pairs[0][0]
    columns = {column for _, column in pairs}
    for index in UNIQUE_INDEXES.values():
        if index.table == table and set(index.columns) == columns:
            return index.name
    return f"{table}.{'+'.join(sorted(columns))}"


def integrity_conflict(error: Exception) -> IntegrityConflict:
    """One domain error for asyncpg's and sqlite3's integrity violations."""
    if isinstance(error, asyncpg.exceptions.IntegrityConstraintViolationError):
        constraint = getattr(error, "constraint_name", None)
        is_fk = isinstance(error, asyncpg.exceptions.ForeignKeyViolationError)
    else:
        message = str(error)
        constraint = _constraint_from_sqlite(message)
        is_fk = "FOREIGN KEY" in message
    index = UNIQUE_INDEXES.get(constraint or "")
    if index:
        # The reason is the problem's `reason`, for programs; the sentence is for people.
        return IntegrityConflict(
            index.detail or "This would duplicate an existing record.",
            constraint=constraint,
            reason=index.reason,
        )
    if is_fk:
        return IntegrityConflict(
            "The record refers to something that does not exist, or is still referred to.",
            constraint=constraint,
            reason="reference",
        )
    return IntegrityConflict(
        "The change conflicts with existing data.", constraint=constraint, reason="conflict"
    )


_INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.exceptions.IntegrityConstraintViolationError)
# Values the database cannot store (a NUL in text on PostgreSQL, an integer beyond 64 bits on
# SQLite): the client's input, never a server fault.
_DATA_ERRORS = (
    OverflowError,
    asyncpg.exceptions.DataError,
    asyncpg.exceptions.UntranslatableCharacterError,
)


def _map_errors(error: Exception) -> Exception:
    if isinstance(error, _INTEGRITY_ERRORS):
        return integrity_conflict(error)
    return InvalidInput("A value sent cannot be stored (out of range or not valid text).")


async def fetch_in_transaction(sql: str, *args: Any, fresh_plan: bool = False) -> list[dict]:
    """One statement of the engine's own SQL (`?` or `$n` placeholders) on the open
    transaction's connection, with the errors mapped as piccolo's and HotQuery's are: for a hot
    path whose statement piccolo cannot express (a batch's `unnest` arrays, say).

    `fresh_plan` (PostgreSQL): planned for this run, not from the connection's statement cache,
    whose plan may have been settled while the table was small (a round trip more: for a rare
    statement no index can be made to win by its shape alone)."""
    connection = active_engine().current_transaction.get().connection
    try:
        if isinstance(connection, InlineConnection):
            return await connection.execute_fetchall(sql, args)
        if fresh_plan:
            return [dict(record) for record in await (await connection.prepare(sql)).fetch(*args)]
        return [dict(record) for record in await connection.fetch(sql, *args)]
    except (*_INTEGRITY_ERRORS, *_DATA_ERRORS) as error:
        raise _map_errors(error) from error


# --------------------------------------------------------------------------------------------------
# SQLite: long-lived WAL connections, statements run on the event loop's own thread.

# How long a writer waits for the write lock (its process's queue and the other processes'
# turns) before the request is refused with a 503 and Retry-After.
SQLITE_WRITE_WAIT_S = 5.0
# How often, at most, the WAL is copied back into the database (after a write, in a thread).
SQLITE_CHECKPOINT_EVERY_S = 1.0


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in {sqlite3.SQLITE_BUSY, 517} or (
        "database is locked" in str(error)
    )


def database_busy() -> Unavailable:
    """The write lock could not be had in time: a 503 the client may retry, never a 500."""
    return Unavailable(
        "The database is busy; try again in a moment.", retry_after=1, reason="database_busy"
    )


class _WriterTurn:
    """Whose turn it is to write to one SQLite file, across every process that opens it.

    SQLite tries its write lock without waiting, so a waiter must poll, and a process that has
    just committed takes the lock again before a sleeping poller looks: with four busy processes
    a writer waited seconds. Writers here first queue on an flock of a side file
    (`<database>-writer`): a waiter sleeps in the kernel, in a worker thread so the loop runs on,
    and is woken as soon as the holder lets go. Uncontended, taking the turn is one non-blocking
    system call on the loop.
    """

    def __init__(self, path: str) -> None:
        self.path = f"{path}-writer"
        self._fd: int | None = None

    def take_now(self) -> bool:
        """The turn if no other process has it: one non-blocking system call."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    async def take(self) -> None:
        if self.take_now():
            return
        fd = self._fd
        assert fd is not None
        # On a thread of its own: a wait given up on stays blocked in the kernel until the lock
        # frees, and must not hold one of the default pool's threads (argon2, off-loop reads).
        loop = asyncio.get_running_loop()
        waiting = loop.run_in_executor(_FLOCK_WAITS, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waiting)
        except BaseException:
            # Given up (timed out or cancelled) while the thread still waits: the descriptor is
            # closed once the thread returns, which lets go of any lock it got.
            self._fd = None
            waiting.add_done_callback(lambda _: os.close(fd))
            raise

    def give_back(self) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class InlineConnection:
    """A sqlite3 connection whose statements run on the event loop's thread.

    On a WAL database with synchronous=NORMAL a statement on a few rows takes microseconds, while
    handing it to a worker thread (aiosqlite) costs about 90 us a round trip, four of them per
    transaction. So statements run inline, and the only wait that could block the loop, a program
    outside eventapp's turns holding the write lock, is turned into an async back-off: the busy
    timeout is zero and a statement refused as busy is retried after `asyncio.sleep`, when retrying
    is safe (it is a BEGIN, or it ran outside any transaction, so it changed nothing), then given
    up as `Unavailable`.
    """

    def __init__(self, path: str, busy_wait_s: float, *, plain: bool = False) -> None:
        self._db = sqlite3.connect(
            path,
            # Piccolo's conversions (timestamps, booleans, JSON) by declared type, rows as dicts;
            # `plain`: values as SQLite stores them, rows as sqlite3.Row (`group_commit`).
            detect_types=0 if plain else sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES,
            isolation_level=None,
            check_same_thread=False,
            timeout=0.5,  # only while connecting (WAL set-up); statements then use busy_timeout 0
        )
        self._db.row_factory = sqlite3.Row if plain else dict_factory
        self.busy_wait_s = busy_wait_s
        for pragma in (
            "journal_mode = WAL",
            "synchronous = NORMAL",
            "busy_timeout = 0",
            "foreign_keys = ON",
            "temp_store = MEMORY",
            # SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000 WAL pages,
            # here on the event loop: checkpoints run in a worker thread instead (`_checkpoint`).
            "wal_autocheckpoint = 0",
            "journal_size_limit = 33554432",  # a WAL grown by a burst shrinks back to 32 MiB
        ):
            self._db.execute(f"PRAGMA {pragma}")

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[dict]:
        delay, waited = 0.001, 0.0
        while True:
            retry_is_safe = not self._db.in_transaction or sql.lstrip()[:5].upper() == "BEGIN"
            try:
                return self._db.execute(sql, parameters).fetchall()
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
                if not (retry_is_safe and waited < self.busy_wait_s):
                    raise database_busy() from error
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.05)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[dict]:
        """What piccolo's transactions call for BEGIN, COMMIT, ROLLBACK and savepoints."""
        return await self.execute_fetchall(sql, parameters)

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    def run(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        """A statement inside the write transaction this connection holds, synchronously: the
        write lock is held, so it is never refused as busy (`group_commit`'s writes). The
        cursor gives the rows (`fetchall`) or the new row's id (`lastrowid`)."""
        return self._db.execute(sql, parameters)

    def close(self) -> None:
        self._db.close()


def _checkpoint(path: str) -> None:
    """Copy the WAL back into the database, on a connection of its own (run in a worker thread).

    PASSIVE neither waits for nor blocks readers and writers; what it cannot copy now, the next
    one does. Once all is copied, the next write starts the WAL over from its beginning.
    """
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        connection.close()


def _fetch_all(path: str, sql: str, parameters: Sequence[Any]) -> list[dict]:
    """One read on a read-only connection of its own (run in a worker thread)."""
    connection = sqlite3.connect(
        f"{Path(path).resolve().as_uri()}?mode=ro",
        uri=True,
        detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES,
    )
    try:
        connection.row_factory = dict_factory
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


def _run_group(
    connection: InlineConnection, group: list[tuple[Callable[[InlineConnection], Any], Any]]
) -> list[tuple[Any, Any, Exception | None]]:
    """The group's writes in the transaction begun, then one COMMIT. A write that raises is its
    caller's alone: the transaction is rolled back and the others run again without it (a
    failure costs a second run; a savepoint around each write would cost two statements each).
    Raises, with no write of the group committed, when BEGIN or COMMIT fails."""
    pending = list(group)
    failed: list[tuple[Any, Any, Exception | None]] = []
    while True:
        outcomes: list[tuple[Any, Any, Exception | None]] = []
        for index, (work, answer) in enumerate(pending):
            try:
                outcomes.append((answer, work(connection), None))
            except Exception as error:  # noqa: BLE001 - it is its caller's, who gets it
                failed.append((answer, None, error))
                del pending[index]
                break
        else:
            connection.run("COMMIT")
            return outcomes + failed
        # Some errors (an interrupt, a full disk) have already rolled the transaction back.
        if connection.in_transaction:
            connection.run("ROLLBACK")
        connection.run("BEGIN IMMEDIATE")


def _fail(group: list[tuple[Any, asyncio.Future]], error: BaseException) -> None:
    """Every caller of a group that was not committed hears why (a 503 each when busy)."""
    for _, answer in group:
        if not answer.done():
            answer.set_exception(_group_failure(error))


def _group_failure(error: BaseException) -> BaseException:
    """What the callers of a group that could not commit are told (each its own exception):
    busy, or a group cancelled at shutdown, is a 503 they may retry."""
    if isinstance(error, Unavailable | asyncio.CancelledError) or (
        isinstance(error, sqlite3.OperationalError) and _is_busy(error)
    ):
        return database_busy()
    if isinstance(error, _INTEGRITY_ERRORS):
        return integrity_conflict(error)
    return error


class _SQLiteConnections:
    """A writer connection behind an asyncio lock, and a reader connection beside it (plus a
    plain writer for `group_commit`, behind the same lock).

    SQLite allows one writer at a time; queueing this process's transactions on an asyncio lock
    costs nothing, and the head of that queue then waits its turn among the processes
    (`_WriterTurn`). A writer that cannot get both within `busy_wait_s` gets `Unavailable`.
    Statements outside a transaction that only read go to the reader, so they never see another
    coroutine's uncommitted work; since each statement runs to completion inline, one reader
    serves them all, and WAL lets it read while the writer writes.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.busy_wait_s = SQLITE_WRITE_WAIT_S
        self.checkpoint_every_s = SQLITE_CHECKPOINT_EVERY_S
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: InlineConnection | None = None
        self._reader: InlineConnection | None = None
        self._grouped_writer: InlineConnection | None = None
        self._write_lock = asyncio.Lock()
        self._turn = _WriterTurn(path)
        self._checkpointing: asyncio.Task | None = None
        self._last_checkpoint = time.monotonic()
        # Writes waiting for a group, and the task that will take them (None: none yet).
        self._group: list[tuple[Callable[[InlineConnection], Any], asyncio.Future]] = []
        self._group_task: asyncio.Task | None = None
        self._committing: set[asyncio.Task] = set()

    def _ensure_open(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop and self._writer is not None:
            return
        # First use, or a new event loop (piccolo's command line runs each call in its own).
        self._close_connections()
        self._loop = loop
        self._write_lock = asyncio.Lock()
        self._group, self._group_task, self._committing = [], None, set()
        self._checkpointing = None  # one left on a closed loop would never report done
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = InlineConnection(self.path, self.busy_wait_s)
        self._reader = InlineConnection(self.path, self.busy_wait_s)
        self._grouped_writer = None  # opened by the first group

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[InlineConnection]:
        self._ensure_open()
        lock = self._write_lock
        # Uncontended, the usual case, the turn is taken without arming a timer (5 us a write).
        # `_waiters` is asyncio.Lock's queue (private, 3.11-3.13): with anyone queued, acquire()
        # would wait behind them, so take the timed way.
        if lock.locked() or getattr(lock, "_waiters", None):
            await self._wait_for_turn()
        else:
            await lock.acquire()  # free, nobody queued: returns without suspending
            try:
                taken = self._turn.take_now()
            except BaseException:  # the lock file could not be opened (out of descriptors)
                lock.release()
                raise
            if not taken:
                lock.release()
                await self._wait_for_turn()
        try:
            assert self._writer is not None
            yield self._writer
        finally:
            self._turn.give_back()
            lock.release()
            self._checkpoint_soon()

    async def _wait_for_turn(self) -> None:
        """Queue for this process's writer, then for the file's (other processes), within
        `busy_wait_s`; past it, the database is busy."""
        try:
            async with asyncio.timeout(self.busy_wait_s):
                await self._write_lock.acquire()
                try:
                    await self._turn.take()
                except BaseException:
                    self._write_lock.release()
                    raise
        except TimeoutError:
            raise database_busy() from None

    async def group_commit(self, work: Callable[[InlineConnection], T]) -> T:
        """`work(connection)` in a transaction shared with the other such writes queued by then:
        see the module-level `group_commit`."""
        self._ensure_open()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future = loop.create_future()
        self._group.append((work, answer))
        if self._group_task is None:
            # Started on the loop's next turn: the writes arriving on this one join the group.
            self._group_task = task = loop.create_task(self._commit_group())
            self._committing.add(task)
            task.add_done_callback(self._group_task_done)
        return await answer

    async def _commit_group(self) -> None:
        try:
            async with self.writer():
                # Whoever queued while this waited for the writer comes along too.
                group, self._group, self._group_task = self._group, [], None
                connection = self._plain_writer()
                try:
                    await connection.execute("BEGIN IMMEDIATE")
                    outcomes = _run_group(connection, group)
                except BaseException as error:
                    if connection.in_transaction:
                        # A ROLLBACK failed too: closing the connection ends the transaction.
                        connection.close()
                        self._grouped_writer = None
                    _fail(group, error)
                    if not isinstance(error, Exception):
                        raise
                    return
                # Told before the writer is given back: nothing after the COMMIT can undo it.
                for answer, result, error in outcomes:
                    if answer.done():  # its caller was cancelled: the write stands all the same
                        continue
                    if error is None:
                        answer.set_result(result)
                    else:
                        answer.set_exception(error)
        except Unavailable:
            # The writer could not be had in time: whoever is queued hears so, and the next
            # write starts a group of its own.
            if self._group_task is asyncio.current_task():
                group, self._group, self._group_task = self._group, [], None
                _fail(group, database_busy())

    def _group_task_done(self, task: asyncio.Task) -> None:
        self._committing.discard(task)
        if self._group_task is task:  # ended before it took the queue (cancelled at shutdown)
            group, self._group, self._group_task = self._group, [], None
            _fail(group, database_busy())
        if not task.cancelled() and task.exception() is not None:
            logger.error("A group of writes failed", exc_info=task.exception())

    def _plain_writer(self) -> InlineConnection:
        """The connection groups write on: values as SQLite stores them, rows as sqlite3.Row
        (piccolo's conversions and dict rows cost a third of a small write)."""
        if self._grouped_writer is None:
            self._grouped_writer = InlineConnection(self.path, self.busy_wait_s, plain=True)
        return self._grouped_writer

    def _checkpoint_soon(self) -> None:
        """After a write: start a checkpoint in a worker thread, unless one ran or runs lately."""
        now = time.monotonic()
        if self._checkpointing is None and now - self._last_checkpoint >= self.checkpoint_every_s:
            self._last_checkpoint = now
            self._checkpointing = asyncio.create_task(asyncio.to_thread(_checkpoint, self.path))
            self._checkpointing.add_done_callback(self._checkpointed)

    def _checkpointed(self, task: asyncio.Task) -> None:
        self._checkpointing = None
        if not task.cancelled() and task.exception() is not None:
            logger.warning("WAL checkpoint failed: %s", task.exception())

    async def fetch_all_in_thread(self, sql: str, parameters: Sequence[Any]) -> list[dict]:
        return await asyncio.to_thread(_fetch_all, self.path, sql, parameters)

    def reader(self) -> InlineConnection:
        self._ensure_open()
        assert self._reader is not None
        return self._reader

    def _close_connections(self) -> None:
        for connection in (self._writer, self._reader, self._grouped_writer):
            if connection is not None:
                connection.close()
        self._writer = self._reader = self._grouped_writer = None
        self._turn.close()

    async def close(self) -> None:
        if self._committing:  # groups under way are committed (or fail) first
            await asyncio.wait(list(self._committing))
        if self._checkpointing is not None:
            await asyncio.wait([self._checkpointing])
        if self._writer is not None:
            async with self._write_lock:
                await self._writer.execute("PRAGMA optimize")
        self._close_connections()
        self._loop = None


class _WriterTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction on the shared writer connection, held until commit.

    Every transaction is a writing one (BEGIN IMMEDIATE, or EXCLUSIVE when asked): piccolo and its
    migrations open DEFERRED transactions and write in them, which would deadlock on the lock
    upgrade against another process. Plain reads need no transaction and use the reader.
    """

    def __init__(self, engine: FastSQLiteEngine, transaction_type: TransactionType, **kwargs: Any):
        if transaction_type is TransactionType.deferred:
            transaction_type = TransactionType.immediate
        super().__init__(engine, transaction_type=transaction_type, **kwargs)
        self._lease = None

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        engine: FastSQLiteEngine = self.engine  # type: ignore[assignment]
        self._lease = engine.connections.writer()
        self.connection = await self._lease.__aenter__()
        try:
            await self.begin()
        except BaseException:
            await self._lease.__aexit__(None, None, None)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                try:
                    await self.commit()
                except BaseException:
                    # A failed COMMIT leaves the transaction open: close it, or every later
                    # BEGIN on this shared connection would fail.
                    await self.rollback()
                    raise
        finally:
            self.engine.current_transaction.reset(self.context)
            assert self._lease is not None
            await self._lease.__aexit__(None, None, None)
        return exception is None


_READ_PREFIXES = ("SELECT", "WITH", "PRAGMA", "EXPLAIN")


class FastSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine on long-lived WAL connections (see the module docstring)."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        self.connections = _SQLiteConnections(path)
        super().__init__(path=path, **kwargs)

    async def start(self) -> None:
        async with self.connections.writer():
            pass

    async def close(self) -> None:
        await self.connections.close()

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ):
        if query.lstrip()[:7].upper().startswith(_READ_PREFIXES):
            return await self.connections.reader().execute_fetchall(query, args or [])
        async with self.connections.writer() as connection:
            return await connection.execute_fetchall(query, args or [])

    async def _run_in_existing_connection(
        self,
        connection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ):
        return await connection.execute_fetchall(query, args or [])

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False):
        try:
            return await super().run_querystring(querystring, in_pool)
        except (*_INTEGRITY_ERRORS, *_DATA_ERRORS) as error:
            raise _map_errors(error) from error

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _WriterTransaction(
            self, transaction_type=transaction_type, allow_nested=allow_nested
        )


async def _keep_session_state(connection: asyncpg.Connection) -> None:
    """asyncpg's default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` every time a connection goes back to the pool: a second round trip for every
    query. eventapp keeps no session state (no SET, LISTEN, advisory locks or cursors; an open
    transaction is still rolled back by asyncpg before this runs), so there is nothing to reset.
    """


class _PostgresTransaction(PostgresTransaction):
    """Piccolo's PostgreSQL transaction, letting go of the task's transaction whatever happens.

    Piccolo resets `current_transaction` and returns the connection to the pool only when COMMIT
    or ROLLBACK succeeds. When one raises (the server went away), the task's next `transaction()`
    would join the dead one and fail, and the connection would never go back to the pool.
    """

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            self.engine.current_transaction.reset(self.context)
            if self.engine.pool:
                await self.engine.pool.release(self.connection)
            else:
                await self.connection.close()
        return exception is None


class EventappPostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine: integrity errors mapped, no connection made at construction."""

    async def check_version(self) -> None:
        """Skipped: the stock check opens a blocking connection while the engine is constructed."""

    async def start(self, pool_size: int = 10) -> None:
        if self.pool is None:
            await self.start_connection_pool(
                min_size=1, max_size=pool_size, reset=_keep_session_state
            )

    async def close(self) -> None:
        if self.pool is not None:
            await self.close_connection_pool()

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True):
        try:
            return await super().run_querystring(querystring, in_pool)
        except (*_INTEGRITY_ERRORS, *_DATA_ERRORS) as error:
            raise _map_errors(error) from error

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _PostgresTransaction(engine=self, allow_nested=allow_nested)


# --------------------------------------------------------------------------------------------------
# Engine choice and the process-wide binding piccolo needs.


def engine_from_url(url: str) -> FastSQLiteEngine | EventappPostgresEngine:
    """SQLite for sqlite:///path (relative paths from the working directory), else PostgreSQL."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError("A SQLite URL looks like sqlite:///var/eventapp.sqlite")
        return FastSQLiteEngine(path=path)
    if parts.scheme in {"postgres", "postgresql"}:
        return EventappPostgresEngine(config={"dsn": url})
    raise ValueError(f"Unsupported database URL scheme {parts.scheme!r}: use sqlite or postgresql")


def all_tables() -> list[type[Table]]:
    from piccolo.apps.migrations.tables import Migration

    from eventapp.piccolo_app import APP_CONFIG

    return [*APP_CONFIG.table_classes, Migration]


def activate(engine: Engine) -> None:
    """Make `engine` the one every table and piccolo's migration machinery use in this process."""
    from eventapp import piccolo_conf

    piccolo_conf.DB = engine
    for table in all_tables():
        table._meta.db = engine


def active_engine() -> Engine:
    from eventapp import piccolo_conf

    return piccolo_conf.DB


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """Run the enclosed queries as one atomic write: all commit, or none do.

    SQLite takes the write lock up front (BEGIN IMMEDIATE), so a transaction's reads stay true
    until it commits. PostgreSQL runs READ COMMITTED: constraints arbitrate races, and a check
    that no constraint can express (a count, say) first takes `lock_row`. Nested calls join the
    outer transaction.
    """
    engine = active_engine()
    if isinstance(engine, SQLiteEngine):
        context = engine.transaction(transaction_type=TransactionType.immediate)
    else:
        context = engine.transaction()
    async with context:
        yield


async def group_commit(work: Callable[[InlineConnection], T]) -> T:
    """SQLite: run `work(connection)`, a short write of a few statements with no await in it,
    and return its result once committed.

    A COMMIT costs about as much as the rest of a small write together (it writes the WAL): the
    writes queued in one turn of the event loop, or while the writer was busy, share one
    transaction and one COMMIT. One that raises leaves no trace (the others are run again without
    it) and only its caller gets the error. Nothing is acknowledged before the COMMIT; if that
    fails, every write of the group fails with it. So `work` must be safe to run twice.

    `work` runs on a plain connection: rows are `sqlite3.Row`s of the values as SQLite stores
    them (timestamps as text, booleans as 0 and 1), without piccolo's conversions, which cost a
    third of a small write. `HotQuery.rows_on` runs a hot query there. Not inside
    `transaction()`, whose connection holds the write lock.
    """
    engine = active_engine()
    if not isinstance(engine, FastSQLiteEngine):
        raise TypeError("group_commit is for the SQLite engine; use transaction()")
    if engine.current_transaction.get() is not None:
        raise RuntimeError("group_commit inside transaction() would wait for itself")
    return await engine.connections.group_commit(work)


async def fetch_all_off_loop(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run a read whose result grows with the data (a long list, an export) off the event loop.

    Every other statement runs inline on the loop, fine for a few rows; a 50,000-row read there
    stalls every request for over 100 ms. So reads that grow with the data go through here:
    on SQLite they run in a worker thread on a read-only connection of their own (they see what
    is committed, not the caller's open transaction); on PostgreSQL the pool already waits off
    the loop. `sql` takes `{}` placeholders for `args`, as `Table.raw` does.
    """
    engine = active_engine()
    querystring = QueryString(sql, *args)
    if isinstance(engine, FastSQLiteEngine):
        compiled, parameters = querystring.compile_string(engine_type=engine.engine_type)
        return await engine.connections.fetch_all_in_thread(compiled, parameters)
    return [dict(row) for row in await engine.run_querystring(querystring)]


async def lock_row(table: type[Table], row_id: int) -> None:
    """Inside `transaction()`: hold `row_id` so concurrent transactions checking it queue up.

    PostgreSQL takes a row lock (SELECT ... FOR UPDATE); on SQLite the transaction already holds
    the database's write lock (BEGIN IMMEDIATE), so there is nothing more to take.
    """
    if not isinstance(active_engine(), SQLiteEngine):
        await (
            table.select(table._meta.primary_key)
            .where(table._meta.primary_key == row_id)
            .lock_rows()
        )


async def ping(engine: Engine) -> bool:
    try:
        rows = await engine.run_querystring(QueryString("SELECT 1 AS ok"))
    except Exception:  # noqa: BLE001 - health reports any failure as "down"
        return False
    return bool(rows)


async def migrate() -> None:
    """Apply every pending migration in migrations/ to the active engine."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="eventapp")
    if not result.success:
        raise RuntimeError(f"Migrations failed: {result.message}")
