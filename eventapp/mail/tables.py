from piccolo.columns import JSON, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from eventapp.events.tables import Event


class OutboxMessage(Table, tablename="outbox"):
    """A message to send, stored in the transaction that caused it; the sender delivers it later.

    `claimed_until` is a lease: a sender holds the message until then, so two senders never send
    it at once, and a sender that died lets it go when the lease runs out. `secret` messages carry
    a sign-in link: their bodies are never shown to organisers.
    """

    event = ForeignKey(references=Event, on_delete=OnDelete.set_null, null=True, default=None)
    kind = Varchar(length=40, required=True)
    to_address = Varchar(length=320, required=True)
    subject = Varchar(length=300, required=True)
    text_body = Text(default="")
    html_body = Text(default="")
    attachments = JSON(default=[])
    secret = Boolean(default=False)
    status = Varchar(length=10, default="queued")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    claimed_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
    logged_at = Timestamptz(null=True, default=None)
