"""The history of a patient's record: who changed what, when, in words staff read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import translation
from django.utils.text import capfirst

from patients.history import HistoryEntry, patient_history
from patients.models import ConsentKind, Patient
from patients.services import patient_save
from scheduling.models import Practitioner, Session, SessionKind, TreatmentPlan
from scheduling.services import session_complete
from tests.factories import SessionFactory, TreatmentPlanFactory
from tests.helpers import book_and_schedule
from tests.timeutil import seoul
from treatments.models import Contraindication, ProtocolTemplate, SkinConcern

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Read in English, whatever language an earlier test left active."""
    with translation.override("en"):
        yield


DETAILS = {
    "family_name": "Lee",
    "given_name": "Ji-woo",
    "date_of_birth": date(1991, 5, 2),
    "phone": "+82 10-1234-5678",
    "email": "jiwoo@example.com",
    "preferred_language": "ko",
    "reminder_channel": "sms",
}


CONCERN = "Skin concern: Thinning skin (under the eyes, neck) · Under the eyes"


def thinning(area: str = "under_eyes", severity: int = 3) -> dict[str, Any]:
    return {
        "concern": SkinConcern.objects.get(slug="thinning-skin"),
        "area": area,
        "severity": severity,
        "note": "",
    }


def fish() -> Contraindication:
    return Contraindication.objects.get(slug="fish-allergy")


@pytest.fixture
def hana(db: None) -> User:
    return User.objects.create_user("hana", first_name="Hana", last_name="Seo")


@pytest.fixture
def ji_woo(staff_user: User) -> Patient:
    staff_user.first_name, staff_user.last_name = "Min-seo", "Park"
    staff_user.save()
    return patient_save(
        fields=DETAILS,
        concerns=[thinning()],
        flags=[(fish(), "")],
        consents=[ConsentKind.DATA_PROCESSING],
        changed_by=staff_user,
    )


def entry(entries: list[HistoryEntry], record: str, action: str = "changed") -> HistoryEntry:
    return next(e for e in entries if e.record == record and e.action == action)


def test_a_new_record_is_created_by_whoever_saved_it(ji_woo: Patient) -> None:
    entries = patient_history(patient_id=ji_woo.pk)

    assert {(e.record, e.action) for e in entries} == {
        ("Patient record", "created"),
        (CONCERN, "created"),
        ("Medical flag: Fish or salmon allergy", "created"),
        ("Consent: Processing of health data", "created"),
    }
    # Concerns take their author from the request (tests/patients/test_pages.py checks it).
    assert {e.who for e in entries if e.record != CONCERN} == {"Min-seo Park"}
    assert all(e.changes == () for e in entries)


def test_a_change_lists_each_field_with_its_old_and_new_value(ji_woo: Patient, hana: User) -> None:
    patient_save(
        patient=ji_woo,
        fields={**DETAILS, "phone": "010-5555-0101", "reminder_channel": "email"},
        changed_by=hana,
    )

    latest = patient_history(patient_id=ji_woo.pk)[0]

    assert (latest.record, latest.action, latest.who) == ("Patient record", "changed", "Hana Seo")
    changes = {c.field: (c.old, c.new) for c in latest.changes}
    assert changes == {
        "Phone": ("+82 10-1234-5678", "+82 10-5555-0101"),  # stored in E.164, shown readably
        "Reminders by": ("Text message", "Email"),  # the choices' labels, not their codes
    }


def test_field_names_and_values_are_in_the_readers_language(ji_woo: Patient, hana: User) -> None:
    patient_save(
        patient=ji_woo, fields={**DETAILS, "date_of_birth": date(1991, 6, 2)}, changed_by=hana
    )

    with translation.override("ko"):
        change = patient_history(patient_id=ji_woo.pk)[0].changes[0]
        label = str(capfirst(Patient._meta.get_field("date_of_birth").verbose_name))

    assert change.field == label
    assert (change.old, change.new) == ("1991년 5월 2일 (목)", "1991년 6월 2일 (일)")


def test_resolving_a_flag_and_removing_a_concern_are_shown(ji_woo: Patient, hana: User) -> None:
    patient_save(patient=ji_woo, fields=DETAILS, concerns=[], flags=[], changed_by=hana)

    entries = patient_history(patient_id=ji_woo.pk)

    flag = entry(entries, "Medical flag: Fish or salmon allergy")
    assert flag.who == "Hana Seo"
    assert [(c.field, c.old) for c in flag.changes] == [("No longer applies since", "—")]
    removed = entry(entries, CONCERN, "deleted")
    assert removed.is_deleted


def test_withdrawing_a_consent_is_shown(ji_woo: Patient, hana: User) -> None:
    patient_save(patient=ji_woo, fields=DETAILS, consents=[], changed_by=hana)

    withdrawn = entry(patient_history(patient_id=ji_woo.pk), "Consent: Processing of health data")

    assert [c.field for c in withdrawn.changes] == ["Withdrawn at"]


def test_saves_that_change_nothing_visible_are_left_out(ji_woo: Patient, hana: User) -> None:
    # The service saves every concern again; its history gets records with nothing new.
    patient_save(patient=ji_woo, fields=DETAILS, concerns=[thinning()], changed_by=hana)

    entries = patient_history(patient_id=ji_woo.pk)

    assert [e.action for e in entries if e.record.startswith("Skin concern")] == ["created"]
    assert [e.action for e in entries if e.record == "Patient record"] == ["created"]


def test_courses_and_sessions_are_named_and_their_changes_shown(
    ji_woo: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    hana: User,
    tuesday: date,
) -> None:
    plan = book_and_schedule(
        ji_woo, rejuran, kim, seoul(tuesday, 10), hana, override_reason="Allergist cleared it."
    )
    first = plan.sessions.get(sequence=1)
    session_complete(
        session=first,
        completed_by=hana,
        reactions=["swelling", "redness"],
        now=first.starts_at + timedelta(hours=1),
    )

    entries = patient_history(patient_id=ji_woo.pk)

    course = f"Rejuran Healer course booked {tuesday_text(plan)}"
    assert entry(entries, course[0].upper() + course[1:], "created").who == "Hana Seo"
    done = entry(entries, f"Session 1, {course}")
    assert done.who == "Hana Seo"
    changes = {c.field: (c.old, c.new) for c in done.changes}
    assert changes["Status"] == ("Planned", "Completed")
    assert changes["Reactions observed"] == ("—", "Swelling, Redness")
    assert "Completed at" in changes


def tuesday_text(plan: TreatmentPlan) -> str:
    """The day the plan was booked, as the English pages write a day."""
    day = plan.booked_at.astimezone(seoul(date(2026, 1, 1), 0).tzinfo).date()
    return f"{day:%a} {day.day} {day:%b %Y}"


def test_the_newest_fifty_come_first(ji_woo: Patient, hana: User) -> None:
    for number in range(60):
        patient_save(patient=ji_woo, fields={**DETAILS, "notes": f"call {number}"}, changed_by=hana)

    entries = patient_history(patient_id=ji_woo.pk)

    assert len(entries) == 50
    assert [c.new for c in entries[0].changes] == ["call 59"]
    assert [e.when for e in entries] == sorted((e.when for e in entries), reverse=True)


def test_other_patients_changes_are_not_included(
    ji_woo: Patient, other_patient: Patient, hana: User
) -> None:
    patient_save(patient=other_patient, fields={"notes": "private"}, changed_by=hana)
    TreatmentPlanFactory(patient=other_patient)

    entries = patient_history(patient_id=ji_woo.pk)

    assert "Hana Seo" not in {e.who for e in entries}
    assert len(entries) == 4


def many_changes(patient: Patient, practitioner: Practitioner, sessions: int) -> None:
    plan = TreatmentPlanFactory(patient=patient, practitioner=practitioner, session_count=3)
    for sequence in range(1, sessions + 1):
        session = SessionFactory(
            plan=plan,
            sequence=sequence,
            kind=SessionKind.INITIAL if sequence <= 3 else SessionKind.MAINTENANCE,
            starts_at=plan.first_session_at + timedelta(days=28 * sequence),
            ends_at=plan.first_session_at + timedelta(days=28 * sequence, minutes=45),
            practitioner=practitioner,
        )
        session.reaction_notes = "fine"
        session.save()


@pytest.mark.parametrize("sessions", [5, 100])
def test_reading_the_history_takes_one_query_per_table(
    ji_woo: Patient,
    kim: Practitioner,
    django_assert_num_queries: Callable[..., Any],
    sessions: int,
) -> None:
    many_changes(ji_woo, kim, sessions)
    assert Session.history.filter(plan__patient=ji_woo).count() == 2 * sessions

    with django_assert_num_queries(6):
        entries = patient_history(patient_id=ji_woo.pk)
        assert entries[0].changes  # names and values need no further query

    assert len(entries) == min(50, 4 + 1 + 2 * sessions)
