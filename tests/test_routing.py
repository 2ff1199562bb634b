"""`eventapp.routing` answers pydantic models itself: what a client reads must be Litestar's."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

import litestar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar, MediaType, Response
from litestar.testing import TestClient
from pydantic import BaseModel, ConfigDict, SecretStr
from pydantic.alias_generators import to_camel

from eventapp import routing
from eventapp.pagination import Page


class Colour(StrEnum):
    red = "red"
    green = "green"


class Inner(BaseModel):
    when: datetime
    day: date
    at: time
    note: str | None = None


class Answer(BaseModel):
    id: int
    name: str
    score: float
    colour: Colour
    inner: Inner
    tags: list[str]
    extra: dict[str, int]
    price: Decimal
    password: SecretStr
    span: timedelta


def _app(answer: list[BaseModel], status: int = 200) -> Litestar:
    """Both ways of answering `answer[0]`, and routes that must keep Litestar's way."""

    @routing.get("/ours", status_code=status, sync_to_thread=False)
    def ours() -> BaseModel:
        return answer[0]

    @litestar.get("/theirs", status_code=status, sync_to_thread=False)
    def theirs() -> BaseModel:
        return answer[0]

    @routing.get("/with-header", response_headers={"X-Extra": "1"}, sync_to_thread=False)
    def with_header() -> BaseModel:
        return answer[0]

    @routing.get("/response", sync_to_thread=False)
    def response() -> Response[BaseModel]:
        return Response(answer[0], headers={"X-Made": "by-hand"})

    @routing.get("/encoded", sync_to_thread=False)
    def encoded() -> Response[dict]:
        return Response(b'{"status":"error"}', status_code=400, media_type=MediaType.JSON)

    @litestar.get("/encoded-theirs", sync_to_thread=False)
    def encoded_theirs() -> Response[dict]:
        return Response(b'{"status":"error"}', status_code=400, media_type=MediaType.JSON)

    return Litestar([ours, theirs, with_header, response, encoded, encoded_theirs])


def _same(client: TestClient) -> None:
    """The same status, headers and JSON value (pydantic writes 1e+16 where msgspec writes 1e16,
    so the bytes, and with them the length, may differ in a float's spelling)."""
    ours, theirs = client.get("/ours"), client.get("/theirs")
    assert ours.status_code == theirs.status_code
    assert json.loads(ours.content) == json.loads(theirs.content)
    assert ours.headers["content-length"] == str(len(ours.content))
    del ours.headers["content-length"], theirs.headers["content-length"]
    assert ours.headers == theirs.headers


_ANSWER: list[BaseModel] = []
_CLIENT = TestClient(_app(_ANSWER))


texts = st.text(max_size=20)
answers = st.builds(
    Answer,
    id=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    name=texts,
    score=st.floats(allow_nan=True, allow_infinity=True),
    colour=st.sampled_from(Colour),
    inner=st.builds(
        Inner,
        when=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), None])),
        day=st.dates(),
        at=st.times(),
        note=st.none() | texts,
    ),
    tags=st.lists(texts, max_size=3),
    extra=st.dictionaries(texts, st.integers(-1000, 1000), max_size=3),
    price=st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**9),
    password=st.builds(SecretStr, texts),
    span=st.timedeltas(),
)


@settings(max_examples=150, deadline=None)
@given(answers)
def test_a_model_is_sent_as_litestar_would_send_it(answer):
    _ANSWER[:] = [answer]
    with _CLIENT as client:
        _same(client)


@pytest.mark.parametrize("status", [200, 201, 202])
def test_a_page_of_models_and_its_status_are_litestars(status):
    inner = Inner(when=datetime(2026, 11, 28, 9, tzinfo=UTC), day=date(2026, 11, 28), at=time(9))
    page = Page[Inner](items=[inner, inner], total=2, limit=50, offset=0)
    with TestClient(_app([page], status)) as client:
        _same(client)


def test_routes_with_more_to_say_keep_litestars_way():
    inner = Inner(when=datetime(2026, 11, 28, 9, tzinfo=UTC), day=date(2026, 11, 28), at=time(9))
    with TestClient(_app([inner])) as client:
        assert client.get("/with-header").headers["x-extra"] == "1"
        made = client.get("/response")
        assert made.headers["x-made"] == "by-hand"
        assert made.json() == client.get("/theirs").json()


def test_json_a_handler_encoded_itself_is_sent_as_litestar_would_send_it():
    ours, theirs = _CLIENT.get("/encoded"), _CLIENT.get("/encoded-theirs")
    assert (
        (ours.status_code, ours.content)
        == (theirs.status_code, theirs.content)
        == (
            400,
            b'{"status":"error"}',
        )
    )
    assert ours.headers == theirs.headers


class Aliased(BaseModel):
    """A model that would spell its fields by alias if left to itself; Litestar does not."""

    model_config = ConfigDict(alias_generator=to_camel, serialize_by_alias=True)
    field_one: int


def test_aliases_are_spelled_as_litestar_spells_them():
    with TestClient(_app([Aliased(fieldOne=3)])) as client:
        _same(client)
        assert client.get("/ours").json() == {"field_one": 3}


@pytest.mark.parametrize(("status", "body"), [(204, b""), (204, b"null"), (304, b"")])
def test_statuses_without_a_body_are_litestars_to_send(status, body):
    @routing.get("/ours", status_code=200, sync_to_thread=False)
    def ours() -> Response[None]:
        return Response(body, status_code=status, media_type=MediaType.JSON)

    @litestar.get("/theirs", status_code=200, sync_to_thread=False)
    def theirs() -> Response[None]:
        return Response(body, status_code=status, media_type=MediaType.JSON)

    with TestClient(Litestar([ours, theirs])) as client:
        mine, stock = client.get("/ours"), client.get("/theirs")
        assert (mine.status_code, mine.content, mine.headers) == (
            stock.status_code,
            stock.content,
            stock.headers,
        )
