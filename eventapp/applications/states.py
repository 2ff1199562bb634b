"""The states of an application and the one table of moves between them (as in pretalx).

    draft --submit--> submitted --release--> accepted | waitlisted | rejected
    accepted --the start-up--> confirmed | declined;  confirmed --> declined
    waitlisted --> accepted | rejected;  rejected --> accepted | waitlisted (organisers revisit)
    draft | submitted | waitlisted --the start-up--> withdrawn (while undecided)

Nothing else moves: `check` refuses any other pair with a 409 naming both states. Who may ask
for which move (the start-up or an organiser) is `APPLICANT_MOVES` / `DECISIONS`.
"""

from __future__ import annotations

from enum import StrEnum

from eventapp.errors import Conflict


class State(StrEnum):
    draft = "draft"
    submitted = "submitted"
    withdrawn = "withdrawn"
    accepted = "accepted"
    waitlisted = "waitlisted"
    rejected = "rejected"
    confirmed = "confirmed"
    declined = "declined"


TRANSITIONS: dict[State, frozenset[State]] = {
    State.draft: frozenset({State.submitted, State.withdrawn}),
    State.submitted: frozenset({State.accepted, State.waitlisted, State.rejected, State.withdrawn}),
    State.waitlisted: frozenset({State.accepted, State.rejected, State.withdrawn}),
    State.accepted: frozenset({State.confirmed, State.declined, State.rejected}),
    State.confirmed: frozenset({State.declined}),
    State.rejected: frozenset({State.accepted, State.waitlisted}),
    State.withdrawn: frozenset(),
    State.declined: frozenset(),
}

DECISIONS = frozenset({State.accepted, State.waitlisted, State.rejected})
"""What organisers decide (set pending, then released together)."""

APPLICANT_MOVES = frozenset({State.submitted, State.withdrawn, State.confirmed, State.declined})
"""What the start-up itself may do to its application."""

SELECTED = frozenset({State.accepted, State.confirmed})
"""The start-ups on stage (the shape startups.md promises to matchmaking and the programme)."""

IN_REVIEW = frozenset(
    {State.submitted, State.waitlisted, State.accepted, State.rejected, State.confirmed}
)
"""Applications that were submitted and are still in the running or decided (not withdrawn)."""


def allowed(from_state: str, to_state: str) -> bool:
    return State(to_state) in TRANSITIONS[State(from_state)]


def check(from_state: str, to_state: str) -> None:
    """Refuse a move the table does not hold, naming both states."""
    if not allowed(from_state, to_state):
        raise Conflict(
            f"An application cannot go from {from_state} to {to_state}.",
            reason="invalid_transition",
            from_state=from_state,
            to_state=to_state,
        )
