"""Pages of long lists: every list endpoint takes `limit`, `offset` and `q`, and answers a `Page`.

A list that grows with the event (people, invitations, tables, devices) is never sent whole: a
page is at most `MAX_LIMIT` rows, so no request holds the event loop for long, and `total` lets a
page show where the reader is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from litestar.params import QueryParameter
from piccolo.columns.combination import Where
from piccolo.columns.operators.comparison import ComparisonOperator
from piccolo.engine.sqlite import SQLiteEngine
from pydantic import BaseModel, Field

from eventapp.db import active_engine

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 1_000_000

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which slice of a list the caller asked for, and the text to search for."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    q: str = ""

    def matches(self, *columns: Any) -> Any:
        """A condition: any of `columns` contains `q` as typed, ignoring case: `%`, `_` and `\\`
        in `q` are themselves, not wildcards (LIKE is already case-blind on SQLite, for ASCII;
        PostgreSQL needs ILIKE)."""
        pattern = self.contains_pattern
        operator = _Contains if isinstance(active_engine(), SQLiteEngine) else _ContainsIgnoringCase
        conditions = [Where(column=column, value=pattern, operator=operator) for column in columns]
        combined = conditions[0]
        for condition in conditions[1:]:
            combined |= condition
        return combined

    @property
    def contains_pattern(self) -> str:
        """`q` as a LIKE pattern meaning "contains q", for `LIKE ... ESCAPE '\\'` (raw SQL)."""
        literal = self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{literal}%"

    async def apply(self, query: Any) -> list[dict]:
        """Run a piccolo select for this page (it must be ordered, so pages do not overlap)."""
        return await query.limit(self.limit).offset(self.offset).run()


class _Contains(ComparisonOperator):
    template = "{name} LIKE {value} ESCAPE '\\'"


class _ContainsIgnoringCase(ComparisonOperator):
    template = "{name} ILIKE {value} ESCAPE '\\'"


class Page(BaseModel, Generic[Item]):
    """One page of a list: `items`, and `total` matching rows from which `offset` counts."""

    items: list[Item]
    total: int = Field(ge=0, description="How many items match, across every page")
    limit: int = Field(ge=1, le=MAX_LIMIT)
    offset: int = Field(ge=0)


def page_of(items: list[Item], total: int, page: PageRequest) -> Page[Item]:
    return Page[Item](items=items, total=total, limit=page.limit, offset=page.offset)


async def provide_page(
    limit: Annotated[
        int,
        QueryParameter(
            ge=1,
            le=MAX_LIMIT,
            description=f"Items per page (at most {MAX_LIMIT})",
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Items to skip")] = 0,
    q: Annotated[
        str,
        QueryParameter(max_length=100, description="Only items whose text contains this"),
    ] = "",
) -> PageRequest:
    return PageRequest(limit=limit, offset=offset, q=q.strip().replace("\x00", ""))
