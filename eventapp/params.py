"""Request parameter types shared by every domain's routes."""

from typing import Annotated, Any, Self

import msgspec
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict

# A row id in a path: bounded, so an absurd number is a 400 rather than a database error.
RowId = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="A row id")]


class RequestModel(BaseModel):
    """A JSON request body, validated as the JSON it was: strictly, unknown fields refused.

    Litestar decodes a body and then calls `model_validate(value, strict=False)`, which would let
    "5" pass for 5 and 0 for a date; the OpenAPI document (pydantic's schema) promises neither.
    So a decoded body is validated with pydantic's strict JSON rules instead: dates, times and
    enums from their strings, numbers and booleans only as themselves (12.0 is the integer 12,
    as in JSON Schema).
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @classmethod
    def model_validate(cls, obj: Any, *, strict: bool | None = None, **kwargs: Any) -> Self:
        if isinstance(obj, dict) and not kwargs.get("from_attributes"):
            try:
                as_json = _JSON.encode(_integral_floats_as_ints(obj))
            except TypeError:  # Python values (dates, enums): built in code, not a request body
                pass
            else:
                return cls.model_validate_json(as_json, strict=True, context=kwargs.get("context"))
        return super().model_validate(obj, strict=strict, **kwargs)


_SCALARS = (str, int, bool, type(None))


def _integral_floats_as_ints(value: Any) -> Any:
    """The decoded body with 12.0 as 12; TypeError for anything JSON does not decode to (a date,
    an enum, bytes: built in code, validated as Python values instead)."""
    kind = type(value)
    if kind is dict:
        if all(type(item) in _SCALARS for item in value.values()):
            return value  # a flat body without numbers with a fraction: most of them
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    if kind is list:
        return [_integral_floats_as_ints(item) for item in value]
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind in _SCALARS:
        return value
    raise TypeError(f"{kind.__name__} is no JSON value")


_JSON = msgspec.json.Encoder()  # about ten times faster than the json module
