"""Matchmaking routes: organisers run the grid and the schedule; investors and start-ups browse,
mark, request and answer meetings; calendars by private link.

Live: where a handler holds a `Changed`, the people it concerns hear of it right after the
service returns (the change is committed by then), through `service.announce_changes`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from eventapp.accounts.guards import EventAccess, event_role, provide_event_access
from eventapp.accounts.schemas import Role
from eventapp.errors import Forbidden
from eventapp.events.tables import Event
from eventapp.matchmaking import service
from eventapp.matchmaking.schemas import (
    ChangeRequestIn,
    ChangeRequestOut,
    FeedbackIn,
    FeedbackOut,
    FeedLinkOut,
    GridSettings,
    GridSettingsOut,
    InvestorMatch,
    InvestorProfileIn,
    InvestorProfileOut,
    MarkIn,
    MeetingOut,
    MeetingRequestIn,
    MeetingStatus,
    MoveIn,
    NextMeetingOut,
    ReportRow,
    ReportSummary,
    RescheduleIn,
    ScheduleRunIn,
    ScheduleVersionOut,
    SlotOut,
    StartupMatch,
    UnavailableIn,
    UnavailableOut,
)
from eventapp.openapi import Refusal
from eventapp.pagination import Page, PageRequest, page_of
from eventapp.params import RowId
from eventapp.routing import get, patch, post, put

organiser_only = event_role(Role.organiser)
participants = event_role(Role.investor, Role.startup)
anyone_in_matching = event_role(Role.organiser, Role.investor, Role.startup)

NO_ORGANISATION = Refusal(
    403,
    "Your account belongs to no investment firm or start-up, or your start-up does not take part.",
    ("no_organisation", "not_taking_part"),
)
UNKNOWN = Refusal(404, "Something named in the request is not in this event.", ("not_found",))
BOOKING_CONFLICTS = Refusal(
    409,
    "The slot or a person is taken, or a cap is reached.",
    (
        "slot_taken",
        "investor_busy",
        "startup_busy",
        "table_full",
        "cap_reached",
        "already_meeting",
        "meeting_state",
        "not_your_turn",
    ),
    open=True,
)
PARTICIPANT_REFUSALS = [NO_ORGANISATION, UNKNOWN, BOOKING_CONFLICTS]


async def party_of(access: EventAccess, *, organiser_too: bool = False) -> service.Party:
    """The caller as a side of meetings: an investor person (with firm) or a start-up."""
    user = access.user
    assert user is not None  # the event_role guard let them in
    if Role.investor in access.roles:
        firm = await service.investor_party(access.event_id, user.id)
        return service.Party("investor", user.id, user.id, firm["firm_id"])
    if Role.startup in access.roles:
        startup_id = await service.startup_party(access.event_id, user.id)
        return service.Party("startup", user.id, startup_id)
    if organiser_too and Role.organiser in access.roles:
        return service.Party("organiser", user.id, 0)
    raise Forbidden(
        "This needs the role investor or startup in this event.", reason="role_required"
    )


def meeting_out(row: dict) -> MeetingOut:
    return MeetingOut(**row)


class MeetingGridController(Controller):
    """The organiser's side: the grid, the scheduler, every meeting, the report."""

    path = "/api/events/{slug:str}/meetings"
    tags = ["matchmaking"]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/grid", guards=[anyone_in_matching])
    async def get_meeting_grid(self, access: NamedDependency[EventAccess]) -> GridSettingsOut:
        """Slot length, blocks per day, caps, fixed tables, request expiry and fit weights."""
        settings = await service.grid_settings(access.event_id)
        _, slots = await service.slots_of(access.event_id, PageRequest(limit=1))
        return GridSettingsOut(**settings, slots=slots)

    @put(
        "/grid",
        guards=[organiser_only],
        opt={
            "refuses": [
                Refusal(
                    409,
                    "Slots that would go have meetings, or a block is beyond the calendar.",
                    ("slots_in_use", "grid_out_of_range"),
                )
            ]
        },
    )
    async def save_meeting_grid(
        self, access: NamedDependency[EventAccess], data: JSONBody[GridSettings]
    ) -> GridSettingsOut:
        """Replace the grid; slots follow the blocks (one with meetings cannot go)."""
        settings = await service.save_grid_settings(access.event, data)
        _, slots = await service.slots_of(access.event_id, PageRequest(limit=1))
        return GridSettingsOut(**settings, slots=slots)

    @get("/slots", guards=[anyone_in_matching])
    async def list_meeting_slots(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[SlotOut]:
        rows, total = await service.slots_of(access.event_id, page)
        return page_of([SlotOut(**row) for row in rows], total, page)

    @get("/", guards=[organiser_only])
    async def list_event_meetings(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        status: Annotated[MeetingStatus | None, QueryParameter(description="Only these")] = None,
    ) -> Page[MeetingOut]:
        """Every meeting, the provisional schedule's included, by time; `q` searches names."""
        rows, total = await service.event_meetings(access.event_id, page, status)
        return page_of([meeting_out(row) for row in rows], total, page)

    @patch(
        "/{meeting_id:int}",
        guards=[organiser_only],
        opt={"refuses": [BOOKING_CONFLICTS]},
    )
    async def move_meeting_by_hand(
        self, access: NamedDependency[EventAccess], meeting_id: RowId, data: JSONBody[MoveIn]
    ) -> MeetingOut:
        """Move a meeting to another slot or table; a conflict is a 409 naming it."""
        party = service.Party("organiser", access.user.id, 0)  # type: ignore[union-attr]
        changed = await service.move_meeting(
            access.event, party, meeting_id, data.slot_id, data.table_id
        )
        await service.announce_changes(access.event, changed.people)
        return meeting_out(changed.meeting)

    @post(
        "/schedule",
        guards=[organiser_only],
        status_code=HTTP_201_CREATED,
        opt={
            "refuses": [
                Refusal(409, "No slots, tables or people yet.", ("grid_incomplete", "table_full")),
            ]
        },
    )
    async def run_meeting_scheduler(
        self, access: NamedDependency[EventAccess], data: JSONBody[ScheduleRunIn]
    ) -> ScheduleVersionOut:
        """Run the scheduler into a provisional version (fills free slots unless `redo`)."""
        return ScheduleVersionOut(**await service.run_scheduler(access.event, data.redo))

    @get("/schedule", guards=[organiser_only])
    async def list_schedule_versions(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[ScheduleVersionOut]:
        rows, total = await service.versions(access.event_id, page)
        return page_of([ScheduleVersionOut(**row) for row in rows], total, page)

    @post(
        "/schedule/publish",
        guards=[organiser_only],
        status_code=HTTP_200_OK,
        opt={"refuses": [Refusal(409, "Nothing provisional to publish.", ("nothing_to_publish",))]},
    )
    async def publish_meeting_schedule(
        self, access: NamedDependency[EventAccess]
    ) -> ScheduleVersionOut:
        """Publish the provisional schedule; everyone in it gets their meetings by mail."""
        version, people = await service.publish(access.event)
        await service.announce_changes(access.event, people)
        return ScheduleVersionOut(**version)

    @get("/change-requests", guards=[organiser_only])
    async def list_change_requests(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[ChangeRequestOut]:
        rows, total = await service.change_requests(access.event_id, page)
        return page_of([ChangeRequestOut(**row) for row in rows], total, page)

    @post(
        "/change-requests/{request_id:int}/close",
        guards=[organiser_only],
        status_code=HTTP_200_OK,
    )
    async def close_change_request(
        self, access: NamedDependency[EventAccess], request_id: RowId
    ) -> ChangeRequestOut:
        """Mark a swap or drop request as handled."""
        return ChangeRequestOut(**await service.close_change_request(access.event_id, request_id))

    @get("/report", guards=[organiser_only])
    async def meeting_report(self, access: NamedDependency[EventAccess]) -> ReportSummary:
        """Meetings held, no-shows and follow-ups across the event."""
        return ReportSummary(**await service.report_summary(access.event_id))

    @get("/report/rows", guards=[organiser_only])
    async def meeting_report_rows(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        kind: Annotated[
            Literal["investor", "startup"] | None, QueryParameter(description="Only this side")
        ] = None,
    ) -> Page[ReportRow]:
        rows, total = await service.report_rows(access.event_id, page, kind)
        return page_of([ReportRow(**row) for row in rows], total, page)

    @get("/report.csv", guards=[organiser_only], media_type="text/csv")
    async def meeting_report_csv(self, access: NamedDependency[EventAccess]) -> str:
        """The report per investor and per start-up, as CSV."""
        return await service.report_csv(access.event_id)


class MyMeetingsController(Controller):
    """Investors' and start-ups' side: profiles, browsing with fit, marks, requests, answers."""

    path = "/api/events/{slug:str}/meetings"
    tags = ["matchmaking"]
    dependencies = {"access": Provide(provide_event_access)}

    @get(
        "/investor-profile",
        guards=[event_role(Role.investor)],
        opt={"refuses": [NO_ORGANISATION]},
    )
    async def get_investor_profile(
        self, access: NamedDependency[EventAccess]
    ) -> InvestorProfileOut:
        """Your firm's profile in this event (every person of the firm shares it)."""
        firm = await service.investor_party(access.event_id, access.user.id)  # type: ignore[union-attr]
        return InvestorProfileOut(**await service.investor_profile(access.event_id, firm))

    @put(
        "/investor-profile",
        guards=[event_role(Role.investor)],
        opt={
            "refuses": [
                NO_ORGANISATION,
                Refusal(409, "The smallest ticket is above the largest.", ("ticket_range",)),
            ]
        },
    )
    async def save_investor_profile(
        self, access: NamedDependency[EventAccess], data: JSONBody[InvestorProfileIn]
    ) -> InvestorProfileOut:
        firm = await service.investor_party(access.event_id, access.user.id)  # type: ignore[union-attr]
        return InvestorProfileOut(
            **await service.save_investor_profile(access.event_id, firm, data)
        )

    @get(
        "/startups",
        guards=[event_role(Role.investor)],
        opt={"refuses": [NO_ORGANISATION]},
    )
    async def browse_meeting_startups(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        country: Annotated[
            str | None, QueryParameter(pattern=r"^[A-Z]{2}$", description="ISO alpha-2")
        ] = None,
        sector: Annotated[str | None, QueryParameter(max_length=40)] = None,
        min_fit: Annotated[float, QueryParameter(ge=0, le=1, description="Fit at least")] = 0.0,
    ) -> Page[StartupMatch]:
        """The start-ups, best fit first, with why and both sides' marks."""
        firm = await service.investor_party(access.event_id, access.user.id)  # type: ignore[union-attr]
        rows, total = await service.browse_startups(
            access.event_id,
            access.user.id,
            firm,
            page,
            country,
            sector,
            min_fit,  # type: ignore[union-attr]
        )
        return page_of([StartupMatch(**row) for row in rows], total, page)

    @get(
        "/investors",
        guards=[event_role(Role.startup)],
        opt={"refuses": [NO_ORGANISATION]},
    )
    async def browse_meeting_investors(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[InvestorMatch]:
        """The investor people, best fit first, with both sides' marks."""
        startup_id = await service.startup_party(access.event_id, access.user.id)  # type: ignore[union-attr]
        rows, total = await service.browse_investors(access.event_id, startup_id, page)
        return page_of([InvestorMatch(**row) for row in rows], total, page)

    @put(
        "/marks",
        guards=[participants],
        status_code=HTTP_204_NO_CONTENT,
        opt={"refuses": [NO_ORGANISATION, UNKNOWN]},
    )
    async def set_meeting_mark(
        self, access: NamedDependency[EventAccess], data: JSONBody[MarkIn]
    ) -> None:
        """Must meet, happy to meet, or no thanks (null clears)."""
        party = await party_of(access)
        if party.side == "investor":
            investor_id, startup_id = party.user_id, data.counterpart_id
        else:
            investor_id, startup_id = data.counterpart_id, party.party_id
        await service.set_mark(access.event_id, party.side, investor_id, startup_id, data.mark)

    @get("/unavailable", guards=[participants], opt={"refuses": [NO_ORGANISATION]})
    async def get_meeting_unavailable(self, access: NamedDependency[EventAccess]) -> UnavailableOut:
        party = await party_of(access)
        slots = await service.unavailable_of(access.event_id, party.side, party.party_id)
        return UnavailableOut(slot_ids=slots)

    @put("/unavailable", guards=[participants], opt={"refuses": [NO_ORGANISATION, UNKNOWN]})
    async def set_meeting_unavailable(
        self, access: NamedDependency[EventAccess], data: JSONBody[UnavailableIn]
    ) -> UnavailableOut:
        """Replace the slots you cannot meet in."""
        party = await party_of(access)
        slots = await service.set_unavailable(
            access.event_id, party.side, party.party_id, data.slot_ids
        )
        return UnavailableOut(slot_ids=slots)

    @get("/mine", guards=[participants], opt={"refuses": [NO_ORGANISATION]})
    async def my_meetings(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        status: Annotated[MeetingStatus | None, QueryParameter(description="Only these")] = None,
    ) -> Page[MeetingOut]:
        """Your meetings and requests, by time."""
        party = await party_of(access)
        rows, total = await service.my_meetings(access.event_id, party, page, status)
        return page_of([meeting_out(row) for row in rows], total, page)

    @get("/next", guards=[participants], opt={"refuses": [NO_ORGANISATION]})
    async def my_next_meeting(self, access: NamedDependency[EventAccess]) -> NextMeetingOut:
        """Your next accepted meeting, if any: where, when and with whom."""
        party = await party_of(access)
        row = await service.next_meeting(access.event_id, party)
        return NextMeetingOut(meeting=meeting_out(row) if row else None)

    @get(
        "/free-slots",
        guards=[participants],
        opt={"refuses": [NO_ORGANISATION, UNKNOWN]},
    )
    async def free_meeting_slots(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        counterpart_id: Annotated[
            int, QueryParameter(ge=1, le=2**31 - 1, description="Who you want to meet")
        ],
    ) -> Page[SlotOut]:
        """Slots where you and the counterpart are both free and a table is free."""
        party = await party_of(access)
        if party.side == "investor":
            investor_id, startup_id = party.user_id, counterpart_id
        else:
            investor_id, startup_id = counterpart_id, party.party_id
        rows = await service.free_slots(access.event_id, investor_id, startup_id)
        items = [SlotOut(**row) for row in rows[page.offset : page.offset + page.limit]]
        return page_of(items, len(rows), page)

    @post(
        "/requests",
        guards=[participants],
        status_code=HTTP_201_CREATED,
        opt={"refuses": PARTICIPANT_REFUSALS},
    )
    async def request_meeting(
        self, access: NamedDependency[EventAccess], data: JSONBody[MeetingRequestIn]
    ) -> MeetingOut:
        """Ask for a meeting in a free slot; it holds the slot on both sides until answered or
        expired. 409 reasons: slot_taken, investor_busy, startup_busy, table_full, cap_reached,
        already_meeting."""
        party = await party_of(access)
        changed = await service.request_meeting(
            access.event, party, data.counterpart_id, data.slot_id, data.message
        )
        await service.announce_changes(access.event, changed.people)
        return meeting_out(changed.meeting)

    async def _change(self, access: EventAccess, meeting_id: int, action: str) -> MeetingOut:
        party = await party_of(access, organiser_too=action == "cancel")
        changed = await service.change_status(access.event, party, meeting_id, action)
        await service.announce_changes(access.event, changed.people)
        return meeting_out(changed.meeting)

    @post(
        "/{meeting_id:int}/accept",
        guards=[participants],
        status_code=HTTP_200_OK,
        opt={"refuses": PARTICIPANT_REFUSALS},
    )
    async def accept_meeting(
        self, access: NamedDependency[EventAccess], meeting_id: RowId
    ) -> MeetingOut:
        """Accept a request made to you."""
        return await self._change(access, meeting_id, "accept")

    @post(
        "/{meeting_id:int}/decline",
        guards=[participants],
        status_code=HTTP_200_OK,
        opt={"refuses": PARTICIPANT_REFUSALS},
    )
    async def decline_meeting(
        self, access: NamedDependency[EventAccess], meeting_id: RowId
    ) -> MeetingOut:
        """Decline a request made to you; the slot is free again."""
        return await self._change(access, meeting_id, "decline")

    @post(
        "/{meeting_id:int}/cancel",
        guards=[anyone_in_matching],
        status_code=HTTP_200_OK,
        opt={"refuses": PARTICIPANT_REFUSALS},
    )
    async def cancel_meeting(
        self, access: NamedDependency[EventAccess], meeting_id: RowId
    ) -> MeetingOut:
        """Cancel a request or a meeting (either side, or the organiser)."""
        return await self._change(access, meeting_id, "cancel")

    @post(
        "/{meeting_id:int}/reschedule",
        guards=[participants],
        status_code=HTTP_200_OK,
        opt={"refuses": PARTICIPANT_REFUSALS},
    )
    async def reschedule_meeting(
        self, access: NamedDependency[EventAccess], meeting_id: RowId, data: JSONBody[RescheduleIn]
    ) -> MeetingOut:
        """Propose another slot: the meeting waits for the other side's answer again."""
        party = await party_of(access)
        changed = await service.move_meeting(access.event, party, meeting_id, data.slot_id)
        await service.announce_changes(access.event, changed.people)
        return meeting_out(changed.meeting)

    @post(
        "/{meeting_id:int}/change-requests",
        guards=[participants],
        status_code=HTTP_201_CREATED,
        opt={"refuses": PARTICIPANT_REFUSALS},
    )
    async def ask_meeting_change(
        self,
        access: NamedDependency[EventAccess],
        meeting_id: RowId,
        data: JSONBody[ChangeRequestIn],
    ) -> ChangeRequestOut:
        """Ask the organiser to swap or drop a scheduled meeting."""
        party = await party_of(access)
        row = await service.ask_change(access.event_id, party, meeting_id, data.kind, data.note)
        return ChangeRequestOut(**row)

    @post(
        "/{meeting_id:int}/feedback",
        guards=[participants],
        status_code=HTTP_200_OK,
        opt={
            "refuses": [
                NO_ORGANISATION,
                Refusal(409, "The meeting has not started.", ("meeting_not_started",)),
            ]
        },
    )
    async def give_meeting_feedback(
        self, access: NamedDependency[EventAccess], meeting_id: RowId, data: JSONBody[FeedbackIn]
    ) -> FeedbackOut:
        """Did it happen, and your interest: none, follow-up or due diligence."""
        party = await party_of(access)
        row = await service.give_feedback(
            access.event_id, party, meeting_id, data.happened, data.interest
        )
        return FeedbackOut(**row)

    @post(
        "/feed",
        guards=[participants],
        status_code=HTTP_200_OK,
        opt={"refuses": [NO_ORGANISATION]},
    )
    async def new_meeting_feed(
        self, request: Request, access: NamedDependency[EventAccess]
    ) -> FeedLinkOut:
        """A private calendar link for your meetings; making a new one ends the old one."""
        await party_of(access)
        path = await service.feed_link(
            access.event_id,
            access.user.id,  # type: ignore[union-attr]
            request.app.state.secret,
        )
        return FeedLinkOut(url=path)


async def _event_by_id(event_id: int) -> dict:
    return await Event.select().where(Event.id == event_id).first()


@get(
    "/api/calendar/{token:str}",
    opt={"public": True, "refuses": [Refusal(404, "No such calendar.", ("not_found",))]},
    media_type="text/calendar",
    tags=["matchmaking"],
)
async def meeting_calendar(
    request: Request,
    token: Annotated[str, Parameter(max_length=100, description="The feed's token")],
) -> str:
    """A person's meetings as iCalendar, by the private link from POST .../meetings/feed."""
    ics = await service.feed(token, request.app.state.secret, _event_by_id)
    return ics.decode()


ROUTES = [MeetingGridController, MyMeetingsController, meeting_calendar]
