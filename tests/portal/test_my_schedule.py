"""My schedule: the patient's next session at the top (date, time, practitioner, treatment,
"session 2 of 4", how to get ready, where the session after it will fall, the next maintenance),
each course as its timeline with the same facts as a list, past sessions with aftercare for the
latest; in the patient's language; only ever the logged-in patient's own rows."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from patients.models import Patient
from scheduling.models import PlanStatus, Session, TreatmentPlan
from scheduling.selectors import clinic_tz
from scheduling.services import session_cancel, session_complete
from tests.factories import PatientFactory
from tests.portal.conftest import client_for
from tests.timeutil import seoul, upcoming

pytestmark = pytest.mark.django_db

SCHEDULE = "/my/"


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def section(page: str, css_class: str) -> str:
    """The HTML of the first element with this class, up to its closing tag name's end."""
    start = (
        page.index(f'class="card {css_class}')
        if f"card {css_class}" in page
        else page.index(css_class)
    )
    return page[start : page.index("</section>", start)]


def sessions_of(plan: TreatmentPlan) -> list[Session]:
    return list(plan.sessions.order_by("sequence"))


# --- Who may open it -------------------------------------------------------------------------


def test_anonymous_visitors_are_asked_to_log_in(client: Client) -> None:
    response = client.get(SCHEDULE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["staff_user", "clinic_admin", "practitioner"])
def test_staff_and_admins_never_land_there(request: pytest.FixtureRequest, persona: str) -> None:
    user = request.getfixturevalue(persona)
    user = getattr(user, "user", user)
    client = client_for(user)

    assert client.get(SCHEDULE).status_code == 403
    assert client.get(reverse("home"))["Location"] == reverse("staff:today")


def test_a_patient_role_without_a_patient_record_finds_nothing(client: Client) -> None:
    from django.contrib.auth.models import Group

    from clinic.roles import Role

    lone = User.objects.create_user("lone", password="x")
    lone.groups.add(Group.objects.get(name=Role.PATIENT.value))
    client.force_login(lone)

    assert client.get(SCHEDULE).status_code == 404


# --- What the patient sees -------------------------------------------------------------------


def test_the_next_session_is_big_at_the_top_with_how_to_get_ready(
    patient_client: Client, course: TreatmentPlan, staff_user: User
) -> None:
    first, second, _third = sessions_of(course)
    session_complete(session=first, completed_by=staff_user, now=first.ends_at)

    page = text(patient_client.get(SCHEDULE))
    top = section(page, "next-session")

    assert "Your next session" in top
    day = second.starts_at.astimezone(clinic_tz())
    assert f"{day:%a} {day.day} {day:%b %Y}" in top
    assert "10:00" in top
    assert "Rejuran Healer" in top
    assert "session 2 of 3" in top
    assert "With Dr. Kim" in top
    assert "How to get ready" in top
    assert "numbing cream" in top
    # Session 3 falls 21–28 days after session 2.
    low = (second.starts_at + timedelta(days=21)).astimezone(day.tzinfo)
    assert "Session 3" in top
    assert f"{low:%a} {low.day} {low:%b %Y}" in top
    assert "Next maintenance" in top
    assert "Move or cancel" in top


def test_each_course_is_a_timeline_with_the_same_facts_as_a_list_and_aftercare(
    patient_client: Client, course: TreatmentPlan, staff_user: User
) -> None:
    first = sessions_of(course)[0]
    session_complete(session=first, completed_by=staff_user, now=first.ends_at)

    page = text(patient_client.get(SCHEDULE))

    assert page.count('<svg class="tl-svg"') == 1
    assert "Session 1: Completed." in page
    assert "Inside its window, 21–28 days after session 1" in page
    assert "Past sessions" in page
    assert "Aftercare after your last session" in page
    assert "Mild swelling or redness for 1–2 days is normal" in page
    assert "1 of 3 sessions done" in page


def test_a_course_in_maintenance_shows_when_it_is_due(
    patient_client: Client, course: TreatmentPlan, staff_user: User
) -> None:
    for session in sessions_of(course):
        session_complete(session=session, completed_by=staff_user, now=session.ends_at)
    course.refresh_from_db()
    assert course.status == PlanStatus.MAINTENANCE
    assert course.maintenance_due_on is not None

    page = text(patient_client.get(SCHEDULE))

    assert "No session is booked for you at the moment." in page
    due = course.maintenance_due_on
    assert f"maintenance is due on <strong>{due:%a} {due.day} {due:%b %Y}</strong>" in page
    assert "In maintenance" in page


def test_several_courses_are_each_shown_and_the_earliest_session_leads(
    patient_client: Client,
    patient: Patient,
    book: Callable[..., TreatmentPlan],
) -> None:
    later = book(patient, seoul(upcoming(1, weeks_ahead=3), 14))
    sooner = book(patient, seoul(upcoming(3, weeks_ahead=2), 11))

    page = text(patient_client.get(SCHEDULE))

    assert page.count('<svg class="tl-svg"') == 2
    assert f'id="course-{later.pk}-title"' in page
    assert f'id="course-{sooner.pk}-title"' in page
    top = section(page, "next-session")
    assert "11:00" in top


def test_a_cancelled_session_leaves_the_count(
    patient_client: Client, course: TreatmentPlan, staff_user: User
) -> None:
    second = sessions_of(course)[1]
    session_cancel(session=second, reason="travel", cancelled_by=staff_user)

    top = section(text(patient_client.get(SCHEDULE)), "next-session")

    assert "session 1 of 2" in top


def test_the_page_is_in_the_patients_language_whatever_the_browser_says(
    client: Client, patient: Patient, course: TreatmentPlan
) -> None:
    patient.preferred_language = "ko"
    patient.save()
    client.force_login(patient.user)
    client.cookies["django_language"] = "en"

    response = client.get(SCHEDULE, headers={"accept-language": "en"})
    page = text(response)

    assert response.headers["Content-Language"] == "ko"
    assert '<html lang="ko"' in page
    assert "리쥬란 힐러" in page
    assert "My schedule" not in page


def test_switching_language_on_the_portal_changes_the_preferred_language(
    patient_client: Client, patient: Patient
) -> None:
    response = patient_client.post(reverse("portal:language"), {"language": "ko", "next": SCHEDULE})

    assert response.status_code == 302
    assert response["Location"] == SCHEDULE
    assert response.cookies["django_language"].value == "ko"
    patient.refresh_from_db()
    assert patient.preferred_language == "ko"
    assert patient.history.first().history_user == patient.user  # type: ignore[union-attr]
    assert '<html lang="ko"' in patient_client.get(SCHEDULE).text


def test_the_language_switch_on_a_portal_page_posts_to_the_portal(
    patient_client: Client,
) -> None:
    assert f'action="{reverse("portal:language")}"' in patient_client.get(SCHEDULE).text


@pytest.mark.parametrize("bad", ["fr", "", "english"])
def test_an_unknown_language_changes_nothing(
    patient_client: Client, patient: Patient, bad: str
) -> None:
    patient_client.post(reverse("portal:language"), {"language": bad, "next": SCHEDULE})

    patient.refresh_from_db()
    assert patient.preferred_language == "en"


def test_the_language_switch_never_redirects_elsewhere(patient_client: Client) -> None:
    response = patient_client.post(
        reverse("portal:language"), {"language": "ko", "next": "https://evil.example/"}
    )

    assert response["Location"] == SCHEDULE


# --- Only their own --------------------------------------------------------------------------


def test_another_patients_course_never_shows(
    patient_client: Client,
    other_patient: Patient,
    book: Callable[..., TreatmentPlan],
    tuesday: date,
) -> None:
    theirs = book(other_patient, seoul(tuesday, 15))

    page = text(patient_client.get(SCHEDULE))

    assert f"course-{theirs.pk}" not in page
    assert "15:00" not in page


def test_another_patients_session_cannot_be_asked_about(
    patient_client: Client,
    other_patient: Patient,
    book: Callable[..., TreatmentPlan],
    tuesday: date,
) -> None:
    theirs = sessions_of(book(other_patient, seoul(tuesday, 15)))[1]
    url = reverse("portal:session-change", args=[theirs.pk])

    assert patient_client.get(url).status_code == 404
    posted = {"action": "cancel", "cancel-kind": "cancel"}
    assert patient_client.post(url, posted).status_code == 404
    assert not theirs.requests.exists()


# --- Query counts ----------------------------------------------------------------------------


def _courses(patient: Patient, book: Callable[..., TreatmentPlan], count: int) -> None:
    for n in range(count):
        book(patient, seoul(upcoming(n % 5, weeks_ahead=2 + n // 5), 10 + n))


@pytest.mark.parametrize("courses", [1, 5])
def test_my_schedule_takes_the_same_queries_for_1_or_5_courses(
    patient_client: Client,
    patient: Patient,
    book: Callable[..., TreatmentPlan],
    django_assert_num_queries: Callable[..., Any],
    courses: int,
) -> None:
    _courses(patient, book, courses)
    other = PatientFactory()
    book(other, seoul(upcoming(4, weeks_ahead=4), 16))

    # session, user with roles, the patient; courses, sessions; the catalogue's protocols and
    # milestones (kept in production); requests, and the catalogue again for their courses;
    # calendar feed
    with django_assert_num_queries(11):
        response = patient_client.get(SCHEDULE)

    assert response.status_code == 200
    assert text(response).count('<svg class="tl-svg"') == courses
