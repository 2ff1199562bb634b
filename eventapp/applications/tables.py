"""Applications and what they hang on: the call, incubators, nomination codes, logos, the state log.

A start-up's application is one row in `applications`; its state moves only through
`states.TRANSITIONS` and every move is a row in `application_state_log`. Nomination codes count
their uses in `used`, raised by one conditional UPDATE (`used < cap`), so the cap holds however
many applicants race on either engine.
"""

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from eventapp.accounts.tables import Organisation, User
from eventapp.db import unique_index
from eventapp.events.tables import Event


class ApplicationCall(Table, tablename="application_calls"):
    """An event's call for applications: when it is open, to whom, and the sectors offered.

    Submission is allowed only between `opens_at` and `closes_at`; drafts may be saved at any time.
    Without `open_to_all`, an application needs an incubator's nomination code.
    """

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    opens_at = Timestamptz(null=True, default=None)
    closes_at = Timestamptz(null=True, default=None)
    open_to_all = Boolean(default=False)
    sectors = JSON(default=[])
    women_led_definition = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class EventIncubator(Table, tablename="event_incubators"):
    """An incubator (an organisation of kind incubator) registered to nominate in one event."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    organisation = ForeignKey(references=Organisation, on_delete=OnDelete.cascade, required=True)
    contact_name = Varchar(length=200, default="")
    contact_email = Varchar(length=320, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class NominationCode(Table, tablename="nomination_codes"):
    """A code (or link) an incubator hands to the start-ups it nominates; at most `cap` uses.

    Only a keyed hash of the code is stored; `hint` (its first characters) lets organisers tell
    codes apart. `used` counts the applications made through it.
    """

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    incubator = ForeignKey(references=Organisation, on_delete=OnDelete.cascade, required=True)
    code_hash = Varchar(length=64, required=True)
    hint = Varchar(length=8, default="")
    label = Varchar(length=100, default="")
    cap = Integer(default=5)
    used = Integer(default=0)
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class Application(Table, tablename="applications"):
    """A start-up's application to pitch at an event, from draft to confirmed (or not).

    `pending_decision` is an organiser's decision not yet told to anyone; releasing the event's
    decisions turns each into a state change and a mail, together.
    """

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    organisation = ForeignKey(
        references=Organisation, on_delete=OnDelete.set_null, null=True, default=None
    )
    owner = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True, default=None)
    incubator = ForeignKey(
        references=Organisation, on_delete=OnDelete.set_null, null=True, default=None
    )
    nominated_by = ForeignKey(
        references=NominationCode, on_delete=OnDelete.set_null, null=True, default=None
    )
    state = Varchar(length=12, default="draft")
    pending_decision = Varchar(length=12, null=True, default=None)
    # The form (item 2 of the call): everything a start-up tells about itself.
    company_name = Varchar(length=200, default="")
    country = Varchar(length=2, default="")
    sectors = JSON(default=[])
    stage = Varchar(length=20, default="")
    year_founded = Integer(null=True, default=None)
    team_size = Integer(null=True, default=None)
    women_led = Boolean(default=False)
    founders = JSON(default=[])
    one_liner = Varchar(length=140, default="")
    description = Text(default="")
    traction = Text(default="")
    funding_sought_usd = BigInt(null=True, default=None)
    website = Varchar(length=300, default="")
    deck_url = Varchar(length=500, default="")
    contact_email = Varchar(length=320, default="")
    has_logo = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)


class ApplicationLogo(Table, tablename="application_logos"):
    """The start-up's logo as served: a 512 px square PNG re-encoded from the upload."""

    application = ForeignKey(references=Application, on_delete=OnDelete.cascade, required=True)
    image = Bytea(required=True)
    content_type = Varchar(length=40, default="image/png")
    sha256 = Varchar(length=64, required=True)
    created_at = Timestamptz(default=TimestamptzNow())


class ApplicationStateChange(Table, tablename="application_state_log"):
    """One change of an application's state: who, when, from, to (from is null at creation)."""

    application = ForeignKey(references=Application, on_delete=OnDelete.cascade, required=True)
    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    from_state = Varchar(length=12, null=True, default=None)
    to_state = Varchar(length=12, required=True)
    actor = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True, default=None)
    at = Timestamptz(default=TimestamptzNow())


unique_index("application_calls_event_uq", ApplicationCall, ["event"], reason="call_exists")
unique_index(
    "event_incubators_uq", EventIncubator, ["event", "organisation"], reason="incubator_registered"
)
unique_index("nomination_codes_hash_uq", NominationCode, ["code_hash"], reason="code_exists")
unique_index("application_logos_uq", ApplicationLogo, ["application"], reason="logo_exists")
unique_index(
    "applications_owner_uq",
    Application,
    ["event", "owner"],
    reason="already_applied",
    where="owner IS NOT NULL AND state NOT IN ('withdrawn', 'declined')",
)
