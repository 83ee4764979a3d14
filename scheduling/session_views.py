"""One session's panel for staff: what it is, and what can be done with it — mark the patient
arrived, move it (free times, then a preview of how the course's later sessions move, or the
refusal with its reason), cancel it, complete it with the reactions seen, or record a no-show.

Opened beside the calendar and Today with htmx, or as a page of its own without JavaScript.
Every change goes through the scheduling services.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext

from clinic.formatting import format_when, local_day
from clinic.htmx import HtmxHttpRequest
from clinic.redirects import safe_next
from scheduling.errors import SchedulingConflictError
from scheduling.forms import CancelSessionForm, CompleteSessionForm, MoveForm
from scheduling.models import Reaction, Session
from scheduling.planner import Move
from scheduling.selectors import sessions_visible_to, sessions_with_protocols
from scheduling.services import (
    session_cancel,
    session_complete,
    session_mark_arrived,
    session_mark_no_show,
    session_reschedule,
)

# Pages that show sessions refresh themselves when the panel changes one.
CHANGED_EVENT = "sessions-changed"


def _visible_session(request: HtmxHttpRequest, session_id: int) -> Session:
    (session,) = sessions_with_protocols(
        [get_object_or_404(sessions_visible_to(request.user), pk=session_id)]
    )
    return session


def session_panel(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    session = _visible_session(request, session_id)
    user = cast(User, request.user)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    day = local_day(session.starts_at)
    move = MoveForm(initial={"day": day}, session=session, prefix="move")
    cancel = CancelSessionForm(prefix="cancel")
    complete = CompleteSessionForm(prefix="complete")
    moves: tuple[Move, ...] = ()
    refusal = ""
    done = ""
    try:
        if action == "arrived":
            session_mark_arrived(session=session, marked_by=user)
            done = gettext("%(patient)s has arrived.") % {"patient": session.plan.patient}
        elif action == "no_show":
            session_mark_no_show(session=session, marked_by=user)
            done = gettext("Recorded that %(patient)s did not come.") % {
                "patient": session.plan.patient
            }
        elif action == "cancel":
            cancel = CancelSessionForm(request.POST, prefix="cancel")
            if cancel.is_valid():
                session_cancel(
                    session=session, reason=cancel.cleaned_data["reason"], cancelled_by=user
                )
                done = gettext("Session cancelled.")
        elif action == "complete":
            complete = CompleteSessionForm(request.POST, prefix="complete")
            if complete.is_valid():
                session_complete(
                    session=session,
                    completed_by=user,
                    reactions=complete.cleaned_data["reactions"],
                    reaction_notes=complete.cleaned_data["reaction_notes"],
                )
                done = gettext("Session completed.")
        elif action in ("preview_move", "move", "pick_day"):
            move = MoveForm(request.POST, session=session, prefix="move")
            if action != "pick_day" and move.is_valid():
                result = session_reschedule(
                    session=session,
                    new_start=move.new_start(),
                    changed_by=user,
                    dry_run=action == "preview_move",
                )
                moves = result.moves
                if result.applied:
                    done = gettext("Moved to %(when)s.") % {"when": format_when(move.new_start())}
    except ValidationError as error:
        form = {"cancel": cancel, "complete": complete, "move": move, "preview_move": move}.get(
            action
        )
        if form is not None and form.is_bound:
            _add_errors(form, error)
        else:
            refusal = " ".join(error.messages)
    except SchedulingConflictError as error:
        refusal = error.message

    if done:
        if not request.htmx:
            messages.success(request, done)
            return redirect(safe_next(request) or request.path)
        session = _visible_session(request, session_id)
        move = MoveForm(
            initial={"day": local_day(session.starts_at)}, session=session, prefix="move"
        )
        cancel = CancelSessionForm(prefix="cancel")
        complete = CompleteSessionForm(prefix="complete")
        moves = ()

    context: dict[str, Any] = {
        "section": "calendar",
        "session": session,
        "move": move,
        "cancel": cancel,
        "complete": complete,
        "moves": moves,
        # The move section stays open while staff are choosing a time.
        "move_open": action in ("pick_day", "preview_move") or bool(moves),
        "refusal": refusal,
        "done": done,
        "next": safe_next(request),
        "today": local_day(session.starts_at) == _today(),
        "started": session.starts_at <= timezone.now(),
        "reaction_choices": Reaction.choices,
    }
    template = "scheduling/session_panel.html"
    response = render(request, f"{template}#panel" if request.htmx else template, context)
    if done:
        response["HX-Trigger"] = CHANGED_EVENT
    return response


def _today() -> date:
    return local_day(timezone.now())


def _add_errors(form: forms.Form, error: ValidationError) -> None:
    names = {"new_start": "time", "reason": "reason", "reactions": "reactions"}
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            name = names.get(field)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)
