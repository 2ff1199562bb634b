from __future__ import annotations

from litestar import Controller, Response
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from eventapp.accounts.guards import EventAccess, event_role, provide_event_access
from eventapp.accounts.schemas import Role
from eventapp.accounts.service import CurrentUser
from eventapp.openapi import Refusal
from eventapp.pagination import Page, PageRequest, page_of
from eventapp.params import RowId
from eventapp.review import board, service
from eventapp.review.schemas import (
    ApplicationScores,
    AssignmentResult,
    BoardRow,
    ConflictIn,
    ConflictOut,
    LockIn,
    LockOut,
    NextTask,
    Proposal,
    ProposedDecisions,
    QueueItem,
    ReplacementOut,
    ReviewByReviewer,
    ReviewerLoad,
    ReviewIn,
    ReviewSettingsIn,
    ReviewSettingsOut,
    ReviewTask,
    SavedReview,
    SelectionRulesIn,
    SelectionRulesOut,
)
from eventapp.routing import get, post, put

organiser = event_role(Role.organiser)
reviewer = event_role(Role.reviewer)

NOT_IN_REVIEW = Refusal(404, "No such application in review here.", ("not_in_review",))
NOT_ASSIGNED = Refusal(403, "The application is not assigned to this reviewer.", ("not_assigned",))


async def _next(event_id: int, reviewer_id: int) -> NextTask:
    following, remaining = await service.next_for(event_id, reviewer_id)
    task = None
    if following is not None:
        task = ReviewTask(**await service.for_reviewer(event_id, reviewer_id, following))
    return NextTask(next=task, remaining=remaining)


class ReviewController(Controller):
    """Review: criteria and settings, reviewer assignment, the reviewer's queue and scores, and
    the figures organisers read."""

    path = "/api/events/{slug:str}/review"
    tags = ["review"]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/settings", guards=[event_role(Role.organiser, Role.reviewer)])
    async def get_review_settings(self, access: NamedDependency[EventAccess]) -> ReviewSettingsOut:
        """The weighted criteria (the defaults until organisers change them) and review options."""
        return ReviewSettingsOut(**await service.get_settings(access.event_id))

    @put(
        "/settings",
        guards=[organiser],
        opt={
            "refuses": [
                Refusal(
                    409,
                    "Two criteria share a key, or reviews exist and the set of criteria is fixed.",
                    ("criteria_duplicate", "reviews_started"),
                ),
            ]
        },
    )
    async def save_review_settings(
        self, access: NamedDependency[EventAccess], data: JSONBody[ReviewSettingsIn]
    ) -> ReviewSettingsOut:
        """Replace the criteria and options; weights and labels may change at any time."""
        return ReviewSettingsOut(**await service.save_settings(access.event_id, data.model_dump()))

    @post(
        "/assignments",
        guards=[organiser],
        status_code=HTTP_200_OK,
        opt={
            "refuses": [
                Refusal(
                    409,
                    "No reviewers, too few allowed reviewers for some applications, or a "
                    "concurrent assignment.",
                    ("no_reviewers", "not_enough_reviewers", "already_assigned"),
                )
            ]
        },
    )
    async def assign_reviewers(self, access: NamedDependency[EventAccess]) -> AssignmentResult:
        """Give every application k reviewers, balanced, never its incubator's or a conflicted one;
        existing assignments stay (run it again after new applications or reviewers)."""
        return AssignmentResult(**await service.auto_assign(access.event_id))

    @get("/reviewers", guards=[organiser])
    async def list_reviewer_loads(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[ReviewerLoad]:
        """The reviewers with how many applications each has, reviewed and abstained on."""
        rows, total = await service.reviewer_loads(access.event_id, page)
        return page_of([ReviewerLoad(**row) for row in rows], total, page)

    @get("/scores", guards=[organiser])
    async def list_application_scores(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[ApplicationScores]:
        """Applications in review, best weighted mean first, with median, spread and count."""
        rows, total = await service.list_scores(access.event_id, page)
        return page_of([ApplicationScores(**row) for row in rows], total, page)

    @get(
        "/applications/{application_id:int}/reviews",
        guards=[organiser],
        opt={"refuses": [NOT_IN_REVIEW]},
    )
    async def list_application_reviews(
        self,
        access: NamedDependency[EventAccess],
        page: NamedDependency[PageRequest],
        application_id: RowId,
    ) -> Page[ReviewByReviewer]:
        """An application's reviews and who wrote them."""
        rows, total = await service.reviews_of(access.event_id, application_id, page)
        return page_of([ReviewByReviewer(**row) for row in rows], total, page)

    @get("/export.csv", guards=[organiser], media_type="text/csv")
    async def export_review_scores(self, access: NamedDependency[EventAccess]) -> Response[str]:
        """Every application in review with its figures and per-criterion means, as CSV."""
        text = await service.export_csv(access.event_id)
        slug = access.event["slug"]
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{slug}-review-scores.csv"'},
        )

    # The reviewer's side

    @get("/queue", guards=[reviewer])
    async def my_review_queue(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        page: NamedDependency[PageRequest],
    ) -> Page[QueueItem]:
        """The caller's assigned applications: still to review first, fewest reviews first."""
        rows, total = await service.queue(access.event_id, user.id, page)
        return page_of([QueueItem(**row) for row in rows], total, page)

    @get("/next", guards=[reviewer])
    async def next_review(
        self, access: NamedDependency[EventAccess], user: NamedDependency[CurrentUser]
    ) -> NextTask:
        """The assigned application with the fewest reviews that the caller has not reviewed."""
        return await _next(access.event_id, user.id)

    @get(
        "/applications/{application_id:int}",
        guards=[reviewer],
        opt={"refuses": [NOT_IN_REVIEW, NOT_ASSIGNED]},
    )
    async def review_task(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        application_id: RowId,
    ) -> ReviewTask:
        """An assigned application to review, with the criteria and the caller's own review."""
        return ReviewTask(**await service.for_reviewer(access.event_id, user.id, application_id))

    @put(
        "/applications/{application_id:int}/review",
        guards=[reviewer],
        opt={
            "refuses": [
                NOT_IN_REVIEW,
                NOT_ASSIGNED,
                Refusal(
                    409,
                    "Not every criterion of the event scored once (or scores with an abstention), "
                    "or saved twice at the same moment.",
                    ("scores_invalid", "reviewed"),
                ),
            ]
        },
    )
    async def save_review(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        application_id: RowId,
        data: JSONBody[ReviewIn],
    ) -> SavedReview:
        """Save and next: store the scores (or the abstention) and serve the next application."""
        review = await service.save_review(
            access.event_id,
            user.id,
            application_id,
            scores=data.scores,
            comment=data.comment,
            abstain=data.abstain,
        )
        return SavedReview(review=review, next=await _next(access.event_id, user.id))

    @post(
        "/conflicts",
        guards=[reviewer],
        status_code=HTTP_201_CREATED,
        opt={
            "refuses": [
                NOT_IN_REVIEW,
                Refusal(
                    409,
                    "Already declared, or already reviewed.",
                    ("conflict_declared", "already_reviewed"),
                ),
            ]
        },
    )
    async def declare_conflict(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        data: JSONBody[ConflictIn],
    ) -> ConflictOut:
        """Declare a conflict of interest: the application leaves the caller's queue for good."""
        row = await service.declare_conflict(
            access.event_id, user.id, data.application_id, data.note
        )
        return ConflictOut(**row)

    @get("/conflicts", guards=[event_role(Role.organiser, Role.reviewer)])
    async def list_review_conflicts(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        page: NamedDependency[PageRequest],
    ) -> Page[ConflictOut]:
        """Declared conflicts: all of them for organisers, a reviewer's own otherwise."""
        mine = None if Role.organiser in access.roles else user.id
        rows, total = await service.list_conflicts(access.event_id, page, mine)
        return page_of([ConflictOut(**row) for row in rows], total, page)


class SelectionController(Controller):
    """The selection board: rules, locks, the optimiser's proposal, decisions, replacements."""

    path = "/api/events/{slug:str}/selection"
    tags = ["selection"]
    guards = [organiser]
    dependencies = {"access": Provide(provide_event_access)}

    @get("/rules")
    async def get_selection_rules(self, access: NamedDependency[EventAccess]) -> SelectionRulesOut:
        """The event's rules (the showcase's until changed: 32, 7 women-led, 1-5 per country...)."""
        return SelectionRulesOut(**await board.get_rules(access.event_id))

    @put("/rules")
    async def save_selection_rules(
        self, access: NamedDependency[EventAccess], data: JSONBody[SelectionRulesIn]
    ) -> SelectionRulesOut:
        return SelectionRulesOut(**await board.save_rules(access.event_id, data.model_dump()))

    @put("/locks/{application_id:int}", opt={"refuses": [NOT_IN_REVIEW]})
    async def set_selection_lock(
        self,
        access: NamedDependency[EventAccess],
        user: NamedDependency[CurrentUser],
        application_id: RowId,
        data: JSONBody[LockIn],
    ) -> LockOut:
        """Always include, always exclude, or (null) let the optimiser decide."""
        return LockOut(**await board.set_lock(access.event_id, application_id, data.lock, user.id))

    @get("/board")
    async def list_selection_board(
        self, access: NamedDependency[EventAccess], page: NamedDependency[PageRequest]
    ) -> Page[BoardRow]:
        """Every candidate by score, with its lock and the last run's decision and explanation."""
        rows, total = await board.ranked(access.event_id, page)
        return page_of([BoardRow(**row) for row in rows], total, page)

    @post(
        "/run",
        status_code=HTTP_200_OK,
        opt={
            "refuses": [
                Refusal(
                    409, "The rules cannot all be met; `rule` names one.", ("selection_infeasible",)
                )
            ]
        },
    )
    async def run_selection(self, access: NamedDependency[EventAccess]) -> Proposal:
        """Choose the best-scoring set keeping every rule and lock; propose the waitlist."""
        return Proposal(**await board.run(access.event_id))

    @get("/proposal")
    async def get_selection_proposal(self, access: NamedDependency[EventAccess]) -> Proposal:
        """The last run's selection, waitlist and the selected set's balance."""
        return Proposal(**await board.proposal_of(access.event_id))

    @post(
        "/decisions",
        status_code=HTTP_200_OK,
        opt={"refuses": [Refusal(409, "Nothing proposed yet.", ("no_proposal",))]},
    )
    async def propose_selection_decisions(
        self, access: NamedDependency[EventAccess], user: NamedDependency[CurrentUser]
    ) -> ProposedDecisions:
        """Turn the proposal into pending decisions; release them with
        POST /api/events/{slug}/applications/release."""
        return ProposedDecisions(**await board.propose_decisions(access.event_id, user.id))

    @get(
        "/replacement/{application_id:int}",
        opt={
            "refuses": [
                Refusal(404, "No such application.", ("application_unknown",)),
                Refusal(
                    409,
                    "It is not on stage, or nobody left keeps every rule.",
                    ("not_selected", "no_replacement"),
                ),
            ]
        },
    )
    async def propose_replacement(
        self, access: NamedDependency[EventAccess], application_id: RowId
    ) -> ReplacementOut:
        """Who best takes the place of a start-up that declined, keeping every rule."""
        return ReplacementOut(**await board.replacement(access.event_id, application_id))


ROUTES = [ReviewController, SelectionController]
