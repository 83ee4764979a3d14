"""A course as its patient sees it: what is next, how far along, what to expect, aftercare.

Built from a plan with its sessions and milestones prefetched; no queries of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from clinic.i18n import localized
from scheduling.models import PlanStatus, Session, SessionStatus, TreatmentPlan
from scheduling.planner import add_months, local_day
from scheduling.selectors import clinic_tz, plan_progress


def _session(session: Session) -> dict[str, Any]:
    return {
        "id": session.pk,
        "sequence": session.sequence,
        "kind": session.kind,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "status": session.status,
        "practitioner": {"id": session.practitioner_id, "name": session.practitioner.display_name},
    }


def plan_for_patient(
    plan: TreatmentPlan, language: str, now: datetime | None = None
) -> dict[str, Any]:
    now = now or timezone.now()
    tz = clinic_tz()
    treatment = plan.template.treatment
    sessions = sorted(
        (s for s in plan.sessions.all() if s.status != SessionStatus.CANCELLED),
        key=lambda s: s.starts_at,
    )
    upcoming = [s for s in sessions if s.status == SessionStatus.PLANNED and s.ends_at > now]
    completed = [s for s in sessions if s.status == SessionStatus.COMPLETED]
    by_sequence = {s.sequence: s for s in sessions}
    first_day = local_day(sessions[0].starts_at, tz) if sessions else None
    milestones = []
    for milestone in plan.template.milestones.all():
        expected_on = expected_until = None
        if milestone.after_session and milestone.after_session in by_sequence:
            expected_on = local_day(by_sequence[milestone.after_session].starts_at, tz)
        elif milestone.months_from_start_min is not None and first_day:
            expected_on = add_months(first_day, milestone.months_from_start_min)
            if milestone.months_from_start_max is not None:
                expected_until = add_months(first_day, milestone.months_from_start_max)
        milestones.append(
            {
                "description": localized(milestone, "description", language),
                "expected_on": expected_on,
                "expected_until": expected_until,
            }
        )
    progress = plan_progress(plan)
    last_done = completed[-1] if completed else None
    return {
        "id": plan.pk,
        "treatment": treatment.slug,
        "treatment_name": localized(treatment, "name", language),
        "status": plan.status,
        "progress": {"completed": progress.completed, "total": progress.total},
        "next_session": _session(upcoming[0]) if upcoming else None,
        "sessions": [_session(s) for s in sessions],
        "next_maintenance_on": (
            plan.maintenance_due_on if plan.status == PlanStatus.MAINTENANCE else None
        ),
        "milestones": milestones,
        "aftercare": None
        if last_done is None
        else {
            "session": last_done.pk,
            "treatment": localized(treatment, "name", language),
            "text": localized(treatment, "aftercare", language),
        },
    }
