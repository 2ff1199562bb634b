"""Applications: the call, incubators and their nomination codes, drafts, states and decisions.

Every state change goes through `transition`, which checks `states.TRANSITIONS`, moves the row
only if it is still in the state read (so two racing changes cannot both apply) and logs who,
when, from and to, in one transaction. A nomination code's cap is one conditional UPDATE
(`used < cap`), which both engines apply atomically, so no race can pass it.

Part B (review and selection) builds on `list_applications`, `get_application`,
`set_pending_decision`, `release_decisions`, `transition`, `selected_startups` and
`candidates_facts`; their names and signatures are stable.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email

from eventapp.accounts.security import new_token, token_digest
from eventapp.accounts.service import (
    Mailing,
    mail_login_link,
    normalise_email,
    on_event_organisations,
    organisation_relied_on_beyond,
    user_by_email,
)
from eventapp.accounts.tables import LoginLink, Organisation, User, UserEventRole
from eventapp.applications.schemas import (
    DEFAULT_SECTORS,
    DEFAULT_WOMEN_LED,
    ApplicationFields,
    CallIn,
    IncubatorIn,
    NominationCodeIn,
    Stage,
    countries,
    country_codes,
)
from eventapp.applications.states import (
    DECISIONS,
    IN_REVIEW,
    SELECTED,
    TRANSITIONS,
    State,
    check,
)
from eventapp.applications.tables import (
    Application,
    ApplicationCall,
    ApplicationLogo,
    ApplicationStateChange,
    EventIncubator,
    NominationCode,
)
from eventapp.db import fetch_all_off_loop, lock_row, transaction
from eventapp.errors import Conflict, Forbidden, Gone, IntegrityConflict, InvalidInput, NotFound
from eventapp.events.tables import Event
from eventapp.mail import service as outbox
from eventapp.pagination import PageRequest
from eventapp.settings import Settings

RESUME_LINK_LIFETIME = timedelta(days=7)
RESUME_PURPOSE = "apply"
"""Mailed links that resume a draft are sign-in links of this purpose (accounts' login_links)."""

REQUIRED_TO_SUBMIT = (
    "company_name",
    "country",
    "sectors",
    "stage",
    "year_founded",
    "team_size",
    "founders",
    "one_liner",
    "description",
    "contact_email",
)


def now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------------
# The call: its window, who may apply, the sectors offered


async def get_call(event_id: int) -> dict:
    """The event's call, or the defaults (closed, by nomination, the default sectors)."""
    row = await ApplicationCall.select().where(ApplicationCall.event == event_id).first()
    if row is None:
        return {
            "opens_at": None,
            "closes_at": None,
            "open_to_all": False,
            "sectors": list(DEFAULT_SECTORS),
            "women_led_definition": DEFAULT_WOMEN_LED,
        }
    return {**row, "sectors": _json(row["sectors"])}


async def set_call(event_id: int, data: CallIn) -> dict:
    fields = data.model_dump()
    async with transaction():
        await lock_row(Event, event_id)
        updated = (
            await ApplicationCall.update({**fields, ApplicationCall.updated_at: now()})
            .where(ApplicationCall.event == event_id)
            .returning(ApplicationCall.id)
            .run()
        )
        if not updated:
            await ApplicationCall.insert(ApplicationCall(event=event_id, **fields)).run()
    return await get_call(event_id)


def window_refusal(call: dict, at: datetime) -> Conflict | None:
    """Why a submission at `at` is refused, or None inside the window."""
    opens, closes = call["opens_at"], call["closes_at"]
    if opens is None:
        return Conflict("Applications are not open for this event.", reason="window_not_open")
    if at < opens:
        return Conflict(
            f"Applications open at {opens.isoformat()}.", reason="window_not_open", opens_at=opens
        )
    if closes is not None and at >= closes:
        return Conflict(
            f"Applications closed at {closes.isoformat()}.",
            reason="window_closed",
            closes_at=closes,
        )
    return None


def call_out(call: dict) -> dict:
    return {
        **{key: call[key] for key in ("opens_at", "closes_at", "open_to_all", "sectors")},
        "women_led_definition": call["women_led_definition"] or DEFAULT_WOMEN_LED,
        "is_open": window_refusal(call, now()) is None,
        "stages": [stage.value for stage in Stage],
        "countries": [{"code": code, "name": name} for code, name in countries()],
    }


# --------------------------------------------------------------------------------------------------
# Incubators and nomination codes


async def register_incubator(event_id: int, data: IncubatorIn) -> dict:
    """Create the incubator's organisation and register it in the event."""
    async with transaction():
        org = await Organisation.insert(
            Organisation(
                name=data.name,
                kind="incubator",
                country=data.country,
                city=data.city,
                website=data.website,
            )
        ).run()
        await EventIncubator.insert(
            EventIncubator(
                event=event_id,
                organisation=org[0]["id"],
                contact_name=data.contact_name,
                contact_email=data.contact_email,
            )
        ).run()
    rows, _ = await list_incubators(event_id, PageRequest(limit=1), organisation_id=org[0]["id"])
    return rows[0]


async def register_existing_incubator(
    event_id: int, organisation_id: int, contact_name: str = "", contact_email: str = ""
) -> None:
    """Register an organisation that already exists (the demo's incubators)."""
    await EventIncubator.insert(
        EventIncubator(
            event=event_id,
            organisation=organisation_id,
            contact_name=contact_name,
            contact_email=contact_email,
        )
    ).run()


async def list_incubators(
    event_id: int, page: PageRequest, organisation_id: int | None = None
) -> tuple[list[dict], int]:
    condition = EventIncubator.event == event_id
    if organisation_id is not None:
        condition &= EventIncubator.organisation == organisation_id
    if page.q:
        condition &= page.matches(
            EventIncubator.organisation.name,
            EventIncubator.organisation.country,
            EventIncubator.contact_name,
        )
    org = EventIncubator.organisation
    rows = await page.apply(
        EventIncubator.select(
            org.id.as_alias("id"),
            org.name.as_alias("name"),
            org.country.as_alias("country"),
            org.city.as_alias("city"),
            org.website.as_alias("website"),
            EventIncubator.contact_name,
            EventIncubator.contact_email,
        )
        .where(condition)
        .order_by(org.name)
        .order_by(EventIncubator.id)
    )
    counts = await _nominated_counts(event_id, [row["id"] for row in rows])
    for row in rows:
        row["nominated"] = counts.get(row["id"], 0)
    return rows, await EventIncubator.count().where(condition)


async def _nominated_counts(event_id: int, incubator_ids: list[int]) -> dict[int, int]:
    if not incubator_ids:
        return {}
    rows = await NominationCode.select(NominationCode.incubator, NominationCode.used).where(
        (NominationCode.event == event_id) & NominationCode.incubator.is_in(incubator_ids)
    )
    counts: dict[int, int] = {}
    for row in rows:
        counts[row["incubator"]] = counts.get(row["incubator"], 0) + row["used"]
    return counts


_CODE_COLUMNS = (
    NominationCode.id,
    NominationCode.incubator.as_alias("incubator_id"),
    NominationCode.incubator.name.as_alias("incubator_name"),
    NominationCode.hint,
    NominationCode.label,
    NominationCode.cap,
    NominationCode.used,
    NominationCode.created_at,
    NominationCode.revoked_at,
)


async def create_nomination_code(
    event_id: int, data: NominationCodeIn, actor_id: int | None, secret: bytes
) -> tuple[dict, str]:
    """A new code for a registered incubator; the code itself is returned once, never stored."""
    registered = await EventIncubator.exists().where(
        (EventIncubator.event == event_id) & (EventIncubator.organisation == data.incubator_id)
    )
    if not registered:
        raise NotFound(
            "That incubator is not registered in this event.", reason="incubator_unknown"
        )
    code = new_token()[:16]
    rows = await NominationCode.insert(
        NominationCode(
            event=event_id,
            incubator=data.incubator_id,
            code_hash=token_digest(code, secret),
            hint=code[:4],
            label=data.label,
            cap=data.cap,
            created_by=actor_id,
        )
    ).run()
    return await _code(event_id, rows[0]["id"]), code


async def _code(event_id: int, code_id: int) -> dict:
    row = (
        await NominationCode.select(*_CODE_COLUMNS)
        .where((NominationCode.id == code_id) & (NominationCode.event == event_id))
        .first()
    )
    if row is None:
        raise NotFound("No nomination code with that id in this event.", reason="code_unknown")
    return row


async def list_nomination_codes(event_id: int, page: PageRequest) -> tuple[list[dict], int]:
    condition = NominationCode.event == event_id
    if page.q:
        condition &= page.matches(
            NominationCode.incubator.name, NominationCode.label, NominationCode.hint
        )
    rows = await page.apply(
        NominationCode.select(*_CODE_COLUMNS).where(condition).order_by(NominationCode.id)
    )
    return rows, await NominationCode.count().where(condition)


async def revoke_nomination_code(event_id: int, code_id: int) -> dict:
    await (
        NominationCode.update({NominationCode.revoked_at: now()})
        .where(
            (NominationCode.id == code_id)
            & (NominationCode.event == event_id)
            & NominationCode.revoked_at.is_null()
        )
        .run()
    )
    return await _code(event_id, code_id)


async def _live_code(event_id: int, code: str, secret: bytes) -> dict:
    row = (
        await NominationCode.select(
            *_CODE_COLUMNS, NominationCode.incubator.country.as_alias("incubator_country")
        )
        .where(
            (NominationCode.code_hash == token_digest(code, secret))
            & (NominationCode.event == event_id)
        )
        .first()
    )
    if row is None:
        raise NotFound("This nomination code is not valid for this event.", reason="code_unknown")
    if row["revoked_at"] is not None:
        raise Gone("This nomination code was withdrawn by the organisers.", reason="code_revoked")
    return row


async def check_nomination_code(event_id: int, code: str, secret: bytes) -> dict:
    """Who nominates through `code`, and how many applications it still allows."""
    row = await _live_code(event_id, code, secret)
    return {
        "incubator_name": row["incubator_name"],
        "incubator_country": row["incubator_country"],
        "remaining": max(0, row["cap"] - row["used"]),
    }


_CLAIM = (
    "UPDATE nomination_codes SET used = used + {} "
    "WHERE id = {} AND revoked_at IS NULL AND used + {} <= cap RETURNING id"
)


async def _claim(code_row: dict, uses: int) -> None:
    """Inside a transaction: take `uses` of the code's cap, or refuse; atomic on both engines."""
    claimed = await NominationCode.raw(_CLAIM, uses, code_row["id"], uses)
    if not claimed:
        raise Conflict(
            f"{code_row['incubator_name']} has used all {code_row['cap']} of its nominations.",
            reason="nomination_cap_reached",
        )


async def _release_claim(code_id: int | None) -> None:
    if code_id is not None:
        await NominationCode.raw(
            "UPDATE nomination_codes SET used = used - 1 WHERE id = {} AND used > 0", code_id
        )


# --------------------------------------------------------------------------------------------------
# Applications: reading


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


_OUT_COLUMNS = (
    *Application.all_columns(),
    Application.incubator.name.as_alias("incubator_name"),
    Application.event.slug.as_alias("event_slug"),
)


def _out(row: dict) -> dict:
    """A row as `ApplicationOut` wants it (JSON decoded, the logo as a URL)."""
    logo_url = (
        f"/api/events/{row['event_slug']}/applications/{row['id']}/logo"
        f"?v={int(row['updated_at'].timestamp())}"
        if row["has_logo"]
        else None
    )
    return {
        **row,
        "sectors": _json(row["sectors"]),
        "founders": _json(row["founders"]),
        "organisation_id": row["organisation"],
        "incubator_id": row["incubator"],
        "nominated": row["nominated_by"] is not None,
        "logo_url": logo_url,
    }


async def get_application(event_id: int, id: int) -> dict:  # noqa: A002 - the agreed signature
    """One application of the event, as organisers see it (pending decision included)."""
    row = (
        await Application.select(*_OUT_COLUMNS)
        .where((Application.id == id) & (Application.event == event_id))
        .first()
    )
    if row is None:
        raise NotFound("No application with that id in this event.", reason="application_unknown")
    return _out(row)


async def list_applications(
    event_id: int,
    page: PageRequest,
    state: str | None = None,
    *,
    country: str | None = None,
    incubator_id: int | None = None,
    include_drafts: bool = True,
) -> tuple[list[dict], int]:
    """The event's applications by id; `q` searches names, one-liners and contact emails."""
    condition = Application.event == event_id
    if state:
        condition &= Application.state == state
    elif not include_drafts:
        condition &= Application.state != State.draft.value
    if country:
        condition &= Application.country == country
    if incubator_id is not None:
        condition &= Application.incubator == incubator_id
    if page.q:
        condition &= page.matches(
            Application.company_name, Application.one_liner, Application.contact_email
        )
    rows = await page.apply(
        Application.select(*_OUT_COLUMNS).where(condition).order_by(Application.id)
    )
    return [_out(row) for row in rows], await Application.count().where(condition)


async def my_application(event_id: int, user_id: int) -> dict:
    """The caller's live application in the event, else their latest one."""
    rows = (
        await Application.select(*_OUT_COLUMNS)
        .where((Application.event == event_id) & (Application.owner == user_id))
        .order_by(Application.id, ascending=False)
    )
    if not rows:
        raise NotFound("You have no application in this event yet.", reason="no_application")
    live = [row for row in rows if row["state"] not in (State.withdrawn, State.declined)]
    return _out((live or rows)[0])


async def owned_application(event_id: int, application_id: int, user_id: int) -> dict:
    """The application if `user_id` owns it; a 404 otherwise (others' ids tell nothing)."""
    row = await get_application(event_id, application_id)
    if row["owner"] != user_id:
        raise NotFound("No application with that id in this event.", reason="application_unknown")
    return row


async def state_history(
    event_id: int, application_id: int, page: PageRequest
) -> tuple[list[dict], int]:
    condition = (ApplicationStateChange.application == application_id) & (
        ApplicationStateChange.event == event_id
    )
    rows = await page.apply(
        ApplicationStateChange.select(
            ApplicationStateChange.id,
            ApplicationStateChange.from_state,
            ApplicationStateChange.to_state,
            ApplicationStateChange.actor.as_alias("actor_id"),
            ApplicationStateChange.actor.name.as_alias("actor_name"),
            ApplicationStateChange.at,
        )
        .where(condition)
        .order_by(ApplicationStateChange.id)
    )
    return rows, await ApplicationStateChange.count().where(condition)


# --------------------------------------------------------------------------------------------------
# Applications: the form


def field_errors(fields: dict, call: dict) -> list[dict]:
    """What the request's schema cannot tell: sectors from the event's list, each once."""
    errors = []
    offered = set(call["sectors"])
    for sector in fields.get("sectors") or []:
        if sector not in offered:
            errors.append({"key": "sectors", "message": f"{sector!r} is not a sector of this call"})
    if fields.get("sectors") and len(set(fields["sectors"])) != len(fields["sectors"]):
        errors.append({"key": "sectors", "message": "each sector may be chosen once"})
    return errors


def missing_fields(row: dict) -> list[dict]:
    """The fields a submission still needs, as field errors the form shows."""
    return [
        {"key": key, "message": "required to submit"}
        for key in REQUIRED_TO_SUBMIT
        if row.get(key) in (None, "", [])
    ]


def _form_values(fields: ApplicationFields, *, partial: bool) -> dict:
    values = fields.model_dump(
        exclude_unset=partial, exclude={"nomination_code"}, exclude_none=False
    )
    values = {key: value for key, value in values.items() if key in ApplicationFields.model_fields}
    if "founders" in values and values["founders"] is not None:
        values["founders"] = [dict(f) for f in values["founders"]]
    if values.get("contact_email"):
        values["contact_email"] = normalise_email(values["contact_email"])
    if "stage" in values and values["stage"] is not None:
        values["stage"] = Stage(values["stage"]).value
    # A draft field cleared (null) is stored as empty.
    for key in ("company_name", "country", "stage", "one_liner", "description", "traction"):
        if key in values and values[key] is None:
            values[key] = ""
    for key in ("website", "deck_url", "contact_email"):
        if key in values and values[key] is None:
            values[key] = ""
    for key in ("sectors", "founders"):
        if key in values and values[key] is None:
            values[key] = []
    if "women_led" in values and values["women_led"] is None:
        values["women_led"] = False
    return values


def _refuse_field_errors(errors: list[dict], reason: str = "sector_not_offered") -> None:
    """A 409: the request is well formed but does not fit this event's call (its sectors) or the
    application's state (complete once submitted). `errors` names each field, as a 400 does."""
    if errors:
        raise Conflict("Some fields need attention; see errors.", reason=reason, errors=errors)


async def _nomination(
    event_id: int, call: dict, nomination_code: str | None, secret: bytes
) -> dict | None:
    """The live code an application comes through, or None when the call is open to all."""
    code_row = await _live_code(event_id, nomination_code, secret) if nomination_code else None
    if code_row is None and not call["open_to_all"]:
        raise Forbidden(
            "This call is by nomination: apply with your incubator's code.",
            reason="nomination_required",
        )
    if code_row is not None and code_row["used"] >= code_row["cap"]:
        raise Conflict(
            f"{code_row['incubator_name']} has used all {code_row['cap']} of its nominations.",
            reason="nomination_cap_reached",
        )
    return code_row


async def create_application(
    event_id: int,
    owner_id: int,
    fields: ApplicationFields,
    *,
    nomination_code: str | None = None,
    secret: bytes,
    actor_id: int | None = None,
) -> dict:
    """A new draft owned by `owner_id`; through `nomination_code` when the call is not open."""
    call = await get_call(event_id)
    values = _form_values(fields, partial=False)
    _refuse_field_errors(field_errors(values, call))
    if not values.get("contact_email"):
        owner = await User.select(User.email).where(User.id == owner_id).first()
        values["contact_email"] = owner["email"] if owner else ""
    code_row = await _nomination(event_id, call, nomination_code, secret)
    async with transaction():
        if code_row is not None:
            await _claim(code_row, 1)
        rows = await Application.insert(
            Application(
                event=event_id,
                owner=owner_id,
                incubator=code_row["incubator_id"] if code_row else None,
                nominated_by=code_row["id"] if code_row else None,
                **values,
            )
        ).run()
        application_id = rows[0]["id"]
        await _log(event_id, application_id, None, State.draft, actor_id or owner_id)
    return await get_application(event_id, application_id)


async def update_application(event_id: int, application_id: int, fields: ApplicationFields) -> dict:
    """Change the form: any field of a draft; of a submitted application, while the call is open."""
    values = _form_values(fields, partial=True)
    call = await get_call(event_id)
    _refuse_field_errors(field_errors(values, call))
    row = await get_application(event_id, application_id)
    if row["state"] == State.submitted:
        refusal = window_refusal(call, now())
        if refusal is not None:
            raise Conflict(
                "The call has closed: a submitted application can no longer change.",
                reason="application_locked",
            )
    elif row["state"] != State.draft:
        raise Conflict(
            f"An application that is {row['state']} can no longer change.",
            reason="application_locked",
        )
    if row["state"] == State.submitted:  # it stays complete
        _refuse_field_errors(missing_fields({**row, **values}), reason="incomplete")
    if values:
        updated = (
            await Application.update({**values, Application.updated_at: now()})
            .where(
                (Application.id == application_id)
                & (Application.state.is_in([State.draft.value, State.submitted.value]))
            )
            .returning(Application.id)
            .run()
        )
        if not updated:
            raise Conflict(
                "The application changed meanwhile; reload it.", reason="application_locked"
            )
    return await get_application(event_id, application_id)


async def submit(event_id: int, application_id: int, actor_id: int | None) -> dict:
    """Submit a complete draft inside the call's window; the application is then made for the
    owner's start-up organisation (made now if they have none)."""
    row = await get_application(event_id, application_id)
    check(row["state"], State.submitted)
    refusal = window_refusal(await get_call(event_id), now())
    if refusal is not None:
        raise refusal
    _refuse_field_errors(missing_fields(row), reason="incomplete")
    async with transaction():
        organisation_id = row["organisation"] or await _startup_organisation(row)
        await (
            Application.update(
                {Application.organisation: organisation_id, Application.submitted_at: now()}
            )
            .where(Application.id == application_id)
            .run()
        )
        return await transition(event_id, application_id, State.submitted, actor_id)


async def _startup_organisation(row: dict) -> int:
    """The owner's start-up organisation (made now, with the form's facts, if they have none).

    Organisations are shared by every event, and other events show theirs (the start-ups taking
    part, meetings, badges). So the form's facts are written onto the owner's organisation only
    while it is theirs alone in this event (`organisation_relied_on_beyond`); otherwise the
    application keeps its facts to itself and the organisation stays as the others know it.
    """
    facts = {
        Organisation.name: row["company_name"],
        Organisation.country: row["country"],
        Organisation.website: row["website"],
        Organisation.description: row["one_liner"],
        Organisation.incubator: row["incubator"],
    }
    owner = (
        await User.select(User.organisation, User.organisation.kind.as_alias("kind"))
        .where(User.id == row["owner"])
        .first()
        if row["owner"]
        else None
    )
    if owner and owner["organisation"] and owner["kind"] == "startup":
        organisation_id = owner["organisation"]
        await lock_row(Organisation, organisation_id)
        if not await organisation_relied_on_beyond(
            organisation_id, person=row["owner"], event_id=row["event"]
        ):
            await Organisation.update(facts).where(Organisation.id == organisation_id).run()
        return organisation_id
    named = {column._meta.name: value for column, value in facts.items()}
    created = await Organisation.insert(Organisation(kind="startup", **named)).run()
    organisation_id = created[0]["id"]
    if owner is not None and owner["organisation"] is None:
        await User.update({User.organisation: organisation_id}).where(User.id == row["owner"]).run()
    return organisation_id


@on_event_organisations
async def _organisations_that_applied(event_id: int, candidate_ids: list[int]) -> set[int]:
    """The candidates some application of the event was submitted for (accounts asks, when an
    invitation names a start-up: joining the one that applied here is joining this event's)."""
    rows = await Application.select(Application.organisation).where(
        (Application.event == event_id) & Application.organisation.is_in(candidate_ids)
    )
    return {row["organisation"] for row in rows}


# --------------------------------------------------------------------------------------------------
# States


async def _log(
    event_id: int, application_id: int, from_state: str | None, to_state: str, actor_id: int | None
) -> None:
    await ApplicationStateChange.insert(
        ApplicationStateChange(
            application=application_id,
            event=event_id,
            from_state=from_state,
            to_state=str(to_state),
            actor=actor_id,
        )
    ).run()


async def transition(
    event_id: int, application_id: int, to_state: str, actor_id: int | None
) -> dict:
    """Move an application to `to_state` if the table allows it from where it is; logged.

    Any pending decision is cleared (the move supersedes it). A withdrawal gives the nomination
    back to the incubator's code. Refuses with 409 `invalid_transition`, naming both states.
    """
    to_state = State(to_state)
    async with transaction():
        await lock_row(Application, application_id)
        row = (
            await Application.select(Application.state, Application.nominated_by, Application.event)
            .where((Application.id == application_id) & (Application.event == event_id))
            .first()
        )
        if row is None:
            raise NotFound(
                "No application with that id in this event.", reason="application_unknown"
            )
        from_state = row["state"]
        check(from_state, to_state)
        changes: dict = {
            Application.state: to_state.value,
            Application.pending_decision: None,
            Application.updated_at: now(),
        }
        if to_state in DECISIONS:
            changes[Application.decided_at] = now()
        moved = (
            await Application.update(changes)
            .where((Application.id == application_id) & (Application.state == from_state))
            .returning(Application.id)
            .run()
        )
        if not moved:  # PostgreSQL without the row lock would land here; SQLite never does
            raise Conflict("The application changed meanwhile; reload it.", reason="conflict")
        if to_state == State.withdrawn:
            await _release_claim(row["nominated_by"])
        await _log(event_id, application_id, from_state, to_state, actor_id)
    return await get_application(event_id, application_id)


async def set_pending_decision(
    event_id: int, application_id: int, decision: str | None, actor_id: int | None
) -> dict:
    """Note an organiser's decision without telling anyone; `release_decisions` applies it.

    The decision must be a move the table allows from the current state (checked again at
    release); None clears it.
    """
    async with transaction():
        await lock_row(Application, application_id)
        row = await get_application(event_id, application_id)
        if decision is not None:
            if State(decision) not in DECISIONS:
                raise InvalidInput(
                    "A decision is accepted, waitlisted or rejected.", reason="invalid_decision"
                )
            check(row["state"], decision)
        await (
            Application.update({Application.pending_decision: decision})
            .where(Application.id == application_id)
            .run()
        )
    return await get_application(event_id, application_id)


async def release_decisions(
    event_id: int, actor_id: int | None, *, base_url: str | None = None
) -> int:
    """Apply every pending decision of the event as a transition and queue each start-up's mail,
    all in one transaction. A decision its application can no longer take (withdrawn since) is
    dropped. Returns how many were applied."""
    released = 0
    base_url = Settings().base_url if base_url is None else base_url
    async with transaction():
        await lock_row(Event, event_id)
        pending = (
            await Application.select(*_OUT_COLUMNS, Application.event.name.as_alias("event_name"))
            .where((Application.event == event_id) & Application.pending_decision.is_not_null())
            .order_by(Application.id)
        )
        for row in pending:
            decision = State(row["pending_decision"])
            if decision not in DECISIONS or decision not in TRANSITIONS[State(row["state"])]:
                await (
                    Application.update({Application.pending_decision: None})
                    .where(Application.id == row["id"])
                    .run()
                )
                continue
            await transition(event_id, row["id"], decision, actor_id)
            await _mail_decision(row, decision, base_url)
            released += 1
    return released


async def _mail_decision(row: dict, decision: State, base_url: str) -> None:
    to = row["contact_email"]
    if not to and row["owner"]:
        owner = await User.select(User.email).where(User.id == row["owner"]).first()
        to = owner["email"] if owner else ""
    if not to:
        return
    await outbox.enqueue(
        to=to,
        template="application_decision",
        event_id=row["event"],
        context={
            "company_name": row["company_name"] or "your start-up",
            "event_name": row["event_name"],
            "decision": decision.value,
            "url": f"{base_url}/apply.html?event={row['event_slug']}",
        },
    )


async def applicant_move(event_id: int, application_id: int, user_id: int, to_state: State) -> dict:
    """What the start-up itself does: submit, withdraw, confirm or decline its own application."""
    await owned_application(event_id, application_id, user_id)
    if to_state == State.submitted:
        return await submit(event_id, application_id, user_id)
    return await transition(event_id, application_id, to_state, user_id)


# --------------------------------------------------------------------------------------------------
# What the other capabilities read


async def selected_startups(event_id: int) -> list[dict]:
    """The start-ups on stage (accepted or confirmed), in the shape of startups.md."""
    rows = await (
        Application.select(*_OUT_COLUMNS)
        .where(
            (Application.event == event_id)
            & Application.state.is_in([state.value for state in SELECTED])
        )
        .order_by(Application.company_name)
    )
    return [
        {
            "organisation_id": row["organisation"],
            "name": row["company_name"],
            "country": row["country"],
            "one_liner": row["one_liner"],
            "sectors": list(_json(row["sectors"])),
            "stage": row["stage"],
            "funding_sought_usd": row["funding_sought_usd"],
            "women_led": bool(row["women_led"]),
            "logo_url": _out(row)["logo_url"],
            "website": row["website"],
        }
        for row in rows
        if row["organisation"] is not None
    ]


async def startups_taking_part(event_id: int) -> list[dict]:
    """The start-ups that pitch and meet investors (programme, matchmaking), as `selected_startups`.

    Those selected through the call; an event that selects nobody through a call (its organisers
    invited the start-ups themselves) has the start-ups whose people hold the start-up role in it.
    """
    return await selected_startups(event_id) or await _startups_with_the_role(event_id)


async def _startups_with_the_role(event_id: int) -> list[dict]:
    rows = await Organisation.raw(
        "SELECT DISTINCT o.id, o.name, o.country, o.description, o.website FROM organisations o "
        'JOIN users u ON u.organisation = o.id JOIN user_event_roles r ON r."user" = u.id '
        "WHERE r.event = {} AND r.role = 'startup' AND o.kind = 'startup' ORDER BY o.name",
        event_id,
    )
    return [
        {
            "organisation_id": row["id"],
            "name": row["name"],
            "country": row["country"],
            "one_liner": row["description"],
            "sectors": [],
            "stage": "",
            "funding_sought_usd": None,
            "women_led": False,
            "logo_url": None,
            "website": row["website"],
        }
        for row in rows
    ]


async def candidates_facts(event_id: int) -> list[dict]:
    """Per submitted application (not withdrawn, declined or draft), what the optimiser needs."""
    rows = await fetch_all_off_loop(
        "SELECT id, company_name, country, sectors, incubator, women_led, state "
        "FROM applications WHERE event = {} AND state IN ("
        + ", ".join(f"'{state.value}'" for state in sorted(IN_REVIEW))
        + ") ORDER BY id",
        event_id,
    )
    return [
        {
            "id": row["id"],
            "company_name": row["company_name"],
            "country": row["country"],
            "sectors": list(_json(row["sectors"])),
            "incubator_id": row["incubator"],
            "women_led": bool(row["women_led"]),
            "state": row["state"],
        }
        for row in rows
    ]


# --------------------------------------------------------------------------------------------------
# Without an account: a draft resumed by a mailed link


async def _account_for(email: str) -> int:
    """The account with this email, made (without a password) if there is none."""
    email = normalise_email(email)
    user = await user_by_email(email)
    if user is not None:
        return user["id"]
    try:
        return await _new_account(email)
    except IntegrityConflict:  # made by a concurrent request a moment ago
        user = await user_by_email(email)
        assert user is not None
        return user["id"]


async def _new_account(email: str) -> int:
    rows = await User.insert(User(email=normalise_email(email), name="")).run()
    return rows[0]["id"]


async def _only_an_applicant(user_id: int) -> bool:
    """No password, no administrator, no role but start-up in any event."""
    user = await User.select(User.password_hash, User.is_admin).where(User.id == user_id).first()
    if user is None or user["password_hash"] or user["is_admin"]:
        return False
    return not await UserEventRole.exists().where(
        (UserEventRole.user == user_id) & (UserEventRole.role != "startup")
    )


async def _queue_resume_link(
    event: dict, user_id: int, email: str, company_name: str, secret: bytes, mailing: Mailing
) -> None:
    """Inside a transaction: a one-time link signing its holder in to resume the application.

    The link signs in for days, so only an account that is nothing but an applicant gets one;
    anyone with a password, an administrator or a role beyond start-up gets the usual
    short-lived sign-in link instead.
    """
    if not await _only_an_applicant(user_id):
        await mail_login_link(email, purpose="sign_in", secret=secret, mailing=mailing)
        return
    token = new_token()
    await LoginLink.insert(
        LoginLink(
            token_hash=token_digest(token, secret),
            user=user_id,
            purpose=RESUME_PURPOSE,
            expires_at=now() + RESUME_LINK_LIFETIME,
        )
    ).run()
    await outbox.enqueue(
        to=email,
        template="application_link",
        event_id=event["id"],
        secret=True,
        context={
            "company_name": company_name or "your start-up",
            "event_name": event["name"],
            "url": f"{mailing.base_url}/apply.html?event={event['slug']}#resume={token}",
            "days": RESUME_LINK_LIFETIME.days,
        },
    )


async def start_without_account(
    event: dict,
    contact_email: str,
    company_name: str,
    nomination_code: str | None,
    *,
    secret: bytes,
    mailing: Mailing,
) -> None:
    """Start a draft for whoever reads `contact_email`, and mail them the link to it.

    If that mailbox already has an application in the event, only the link is mailed. Refusals
    (a closed call without a code, a spent code) are raised before anything is stored.
    """
    fields = ApplicationFields(company_name=company_name, contact_email=contact_email)
    call = await get_call(event["id"])
    _refuse_field_errors(field_errors(_form_values(fields, partial=True), call))
    user = await user_by_email(contact_email)
    if user is not None and not await _only_an_applicant(user["id"]):
        # Nobody may start a draft in a real account's name: its owner signs in and applies.
        await mail_login_link(contact_email, purpose="sign_in", secret=secret, mailing=mailing)
        return
    if user is None:  # refuse before making an account for nothing
        await _nomination(event["id"], call, nomination_code, secret)
    contact_email = normalise_email(contact_email)
    user_id = await _account_for(contact_email)
    existing = await Application.exists().where(
        (Application.event == event["id"])
        & (Application.owner == user_id)
        & Application.state.not_in([State.withdrawn.value, State.declined.value])
    )
    async with transaction():
        if not existing:
            await create_application(
                event["id"], user_id, fields, nomination_code=nomination_code, secret=secret
            )
        await _queue_resume_link(event, user_id, contact_email, company_name, secret, mailing)


async def mail_resume_link(event: dict, email: str, *, secret: bytes, mailing: Mailing) -> None:
    """Mail a link to the application of this email's account in the event, if it has one.

    Says nothing either way (the caller answers the same for every email)."""
    user = await user_by_email(email)
    if user is None or not user["is_active"]:
        return
    rows = (
        await Application.select(Application.company_name)
        .where((Application.event == event["id"]) & (Application.owner == user["id"]))
        .order_by(Application.id, ascending=False)
        .first()
    )
    if rows is None:
        return
    async with transaction():
        await _queue_resume_link(
            event, user["id"], user["email"], rows["company_name"], secret, mailing
        )


# --------------------------------------------------------------------------------------------------
# Logos


async def store_logo(event_id: int, application_id: int, png: bytes, sha256: str) -> dict:
    """Keep the re-encoded logo (one per application); only while the application may change."""
    async with transaction():
        row = await get_application(event_id, application_id)
        if row["state"] not in (State.draft, State.submitted, State.accepted, State.confirmed):
            raise Conflict(
                f"An application that is {row['state']} can no longer change.",
                reason="application_locked",
            )
        await ApplicationLogo.delete().where(ApplicationLogo.application == application_id)
        await ApplicationLogo.insert(
            ApplicationLogo(application=application_id, image=png, sha256=sha256)
        ).run()
        await (
            Application.update({Application.has_logo: True, Application.updated_at: now()})
            .where(Application.id == application_id)
            .run()
        )
    return await get_application(event_id, application_id)


async def logo_of(event_id: int, application_id: int) -> dict:
    row = (
        await ApplicationLogo.select(
            ApplicationLogo.image,
            ApplicationLogo.content_type,
            ApplicationLogo.sha256,
            ApplicationLogo.application.owner.as_alias("owner"),
            ApplicationLogo.application.state.as_alias("state"),
        )
        .where(
            (ApplicationLogo.application == application_id)
            & (ApplicationLogo.application.event == event_id)
        )
        .first()
    )
    if row is None:
        raise NotFound("This application has no logo.", reason="logo_unknown")
    return row


# --------------------------------------------------------------------------------------------------
# Bulk import of nominated start-ups (CSV)

IMPORT_COLUMNS = ("company_name", "contact_email", "country")
IMPORT_OPTIONAL = ("sectors", "one_liner", "website", "women_led")
MAX_IMPORT_ROWS = 500


def parse_nominations_csv(text: str, call: dict) -> tuple[list[dict], list[dict]]:
    """The rows to import and the refused ones (`{row, reasons}`); pure, so it is tested alone.

    Columns: company_name, contact_email, country (ISO alpha-2); optional sectors (separated by
    ';'), one_liner, website, women_led (yes/no).
    """
    try:
        return _parse_rows(text, call)
    except csv.Error as error:
        return [], [{"row": 1, "reasons": [f"not a CSV file we can read ({error})"]}]


def _parse_rows(text: str, call: dict) -> tuple[list[dict], list[dict]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in IMPORT_COLUMNS if name not in header]
    if missing:
        return [], [{"row": 1, "reasons": [f"missing column {name}" for name in missing]}]
    reader.fieldnames = header
    good: list[dict] = []
    refused: list[dict] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_IMPORT_ROWS:
            refused.append({"row": line, "reasons": [f"at most {MAX_IMPORT_ROWS} rows at once"]})
            break
        if None in raw:
            refused.append({"row": line, "reasons": ["more cells than columns"]})
            continue
        cells = {key: (value or "").strip() for key, value in raw.items()}
        if not any(cells.values()):
            continue
        reasons = []
        name = cells["company_name"]
        if not name:
            reasons.append("company_name is empty")
        elif len(name) > 200:
            reasons.append("company_name is longer than 200 characters")
        email = cells["contact_email"]
        try:
            email = normalise_email(validate_email(email, check_deliverability=False).normalized)
        except EmailNotValidError as error:
            reasons.append(f"contact_email: {error}")
        else:
            if email in seen:
                reasons.append(f"contact_email repeats row {seen[email]}")
            seen.setdefault(email, line)
        country = cells["country"].upper()
        if country not in country_codes():
            reasons.append(f"country {cells['country']!r} is not an ISO 3166 alpha-2 code")
        sectors = [s.strip() for s in cells.get("sectors", "").split(";") if s.strip()]
        unknown = [s for s in sectors if s not in call["sectors"]]
        if unknown:
            reasons.append(f"sectors not offered by this call: {', '.join(unknown)}")
        if len(sectors) > 3:
            reasons.append("at most three sectors")
        one_liner = cells.get("one_liner", "")
        if len(one_liner) > 140:
            reasons.append("one_liner is longer than 140 characters")
        website = cells.get("website", "")
        if website and not website.startswith(("http://", "https://")):
            reasons.append("website must start with http:// or https://")
        women_led = cells.get("women_led", "").lower()
        if women_led not in ("", "yes", "no", "true", "false", "1", "0"):
            reasons.append("women_led is yes or no")
        if reasons:
            refused.append({"row": line, "reasons": reasons})
            continue
        good.append(
            {
                "row": line,
                "company_name": name,
                "contact_email": email,
                "country": country,
                "sectors": sectors,
                "one_liner": one_liner,
                "website": website[:300],
                "women_led": women_led in ("yes", "true", "1"),
            }
        )
    return good, refused


async def import_nominations(
    event: dict, code_id: int, text: str, *, secret: bytes, mailing: Mailing, actor_id: int | None
) -> list[int]:
    """Import an incubator's spreadsheet as drafts nominated through its code: all rows, or none.

    Each start-up gets a draft in its contact's name and a mailed link to complete it. Any refused
    row refuses the file, with every row's reasons (`import_refused`); nothing is stored then.
    """
    event_id = event["id"]
    call = await get_call(event_id)
    code_row = await _code(event_id, code_id)
    if code_row["revoked_at"] is not None:
        raise Gone("This nomination code was withdrawn.", reason="code_revoked")
    rows, refused = parse_nominations_csv(text, call)
    known = {}
    for row in rows:
        user = await user_by_email(row["contact_email"])
        if user is not None:
            known[row["contact_email"]] = user["id"]
    taken = await _emails_with_live_application(event_id, list(known.values()))
    for row in rows:
        if known.get(row["contact_email"]) in taken:
            refused.append(
                {"row": row["row"], "reasons": ["this contact already has an application"]}
            )
    remaining = code_row["cap"] - code_row["used"]
    if not refused and len(rows) > remaining:
        refused.append(
            {
                "row": rows[remaining]["row"] if remaining >= 0 else 2,
                "reasons": [
                    f"the code allows {remaining} more nominations; the file has {len(rows)}"
                ],
            }
        )
    if not rows and not refused:
        refused.append({"row": 1, "reasons": ["the file has no rows"]})
    if refused:
        raise Conflict(
            f"{len(refused)} row(s) refused; nothing was imported.",
            reason="import_refused",
            rows=sorted(refused, key=lambda r: r["row"]),
        )
    ids = []
    async with transaction():
        await _claim(code_row, len(rows))
        for row in rows:
            user_id = known.get(row["contact_email"]) or await _new_account(row["contact_email"])
            values = {k: v for k, v in row.items() if k != "row"}
            inserted = await Application.insert(
                Application(
                    event=event_id,
                    owner=user_id,
                    incubator=code_row["incubator_id"],
                    nominated_by=code_row["id"],
                    **values,
                )
            ).run()
            ids.append(inserted[0]["id"])
            await _log(event_id, inserted[0]["id"], None, State.draft, actor_id)
            await _queue_resume_link(
                event, user_id, row["contact_email"], row["company_name"], secret, mailing
            )
    return ids


async def _emails_with_live_application(event_id: int, user_ids: Iterable[int]) -> set[int]:
    user_ids = list(user_ids)
    if not user_ids:
        return set()
    rows = await Application.select(Application.owner).where(
        (Application.event == event_id)
        & Application.owner.is_in(user_ids)
        & Application.state.not_in([State.withdrawn.value, State.declined.value])
    )
    return {row["owner"] for row in rows}
