"""Request parameter types shared by every domain's routes."""

from typing import Annotated

from litestar.params import Parameter

# A row id in a path: bounded, so an absurd number is a 400 rather than a database error.
RowId = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="A row id")]
