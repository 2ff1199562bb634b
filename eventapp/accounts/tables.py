from piccolo.columns import Boolean, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from eventapp.db import unique_index
from eventapp.events.tables import Event


class Organisation(Table, tablename="organisations"):
    """An incubator, a start-up or an investment firm; shared by every event in the deployment."""

    name = Varchar(length=200, required=True)
    kind = Varchar(length=20, required=True)
    country = Varchar(length=2, default="")
    city = Varchar(length=100, default="")
    website = Varchar(length=300, default="")
    description = Text(default="")
    incubator = ForeignKey(references="self", on_delete=OnDelete.set_null, null=True)


class User(Table, tablename="users"):
    """A person who can sign in. Emails are stored lower-cased and unique."""

    email = Varchar(length=320, required=True)
    name = Varchar(length=200, default="")
    password_hash = Varchar(length=200, null=True, default=None)
    is_active = Boolean(default=True)
    is_admin = Boolean(default=False)
    organisation = ForeignKey(references=Organisation, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    # Set when the owner of the mailbox proved it (a mailed link); an account created through an
    # invitation link, which the inviting organiser also saw, stays unverified until then.
    email_verified_at = Timestamptz(null=True, default=None)


class UserEventRole(Table, tablename="user_event_roles"):
    """What a user may do in one event. A role in one event gives nothing in another."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    role = Varchar(length=20, required=True)
    created_at = Timestamptz(default=TimestamptzNow())


class AuthToken(Table, tablename="auth_tokens"):
    """A browser session or an API token. Only a keyed hash of the token is stored.

    An API token may be a device's for one event (a scanner at the door): it then acts only in
    that event, and that event's organisers can see and revoke it.
    """

    token_hash = Varchar(length=64, required=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    kind = Varchar(length=10, required=True)
    label = Varchar(length=100, default="")
    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(required=True)


class Invitation(Table, tablename="invitations"):
    """A one-time, expiring link that gives its holder a role in an event (creating the account)."""

    event = ForeignKey(references=Event, on_delete=OnDelete.cascade, required=True)
    email = Varchar(length=320, required=True)
    name = Varchar(length=200, default="")
    role = Varchar(length=20, required=True)
    token_hash = Varchar(length=64, required=True)
    invited_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(required=True)
    accepted_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    # Sent only to the invitee's mailbox (the organiser never saw the link): accepting it proves
    # the email is theirs.
    mailed_only = Boolean(default=False)
    # An investor's firm or a start-up's company, by name: accepting joins it (see service).
    organisation_name = Varchar(length=200, default="")


class LoginLink(Table, tablename="login_links"):
    """A one-time, short-lived link mailed to its owner: to sign in, or to set a new password."""

    token_hash = Varchar(length=64, required=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade, required=True)
    purpose = Varchar(length=10, required=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(required=True)
    used_at = Timestamptz(null=True, default=None)


unique_index(
    "users_email_uq",
    User,
    ["lower(email)"],
    reason="email_taken",
    detail="An account with this email already exists.",
)
unique_index(
    "user_event_roles_uq",
    UserEventRole,
    ["user", "event", "role"],
    reason="role_exists",
    detail="This person already has this role in the event.",
)
unique_index("auth_tokens_hash_uq", AuthToken, ["token_hash"], reason="token_exists")
unique_index("invitations_hash_uq", Invitation, ["token_hash"], reason="token_exists")
unique_index("login_links_hash_uq", LoginLink, ["token_hash"], reason="token_exists")
unique_index(
    "invitations_open_uq",
    Invitation,
    ["event", "email", "role"],
    reason="already_invited",
    where="accepted_at IS NULL AND revoked_at IS NULL",
    detail="This person already has an open invitation to this role.",
)
