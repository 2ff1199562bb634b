from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class OutboxItem(BaseModel):
    """A message as organisers see it: to whom, what, and how delivery went (never the body)."""

    id: int
    kind: str = Field(description="What the message is: invitation, sign_in_link, ...")
    to_address: str
    subject: str
    status: Literal["queued", "sent", "failed"]
    attempts: int
    last_error: str = Field(description="The SMTP server's last answer when it refused")
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime
