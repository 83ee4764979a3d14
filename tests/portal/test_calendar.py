"""The patient's sessions in their phone's calendar: an .ics download and a subscription address
with a secret token. Valid RFC 5545 (parsed with the icalendar package), the clinic's time zone,
a stable UID per session and a SEQUENCE that grows when staff move it, cancelled sessions sent
as cancelled; a renewed token stops the old one at once; a wrong token is not found."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from patients.models import Patient
from scheduling.models import CalendarFeed, Session, TreatmentPlan
from scheduling.services import calendar_feed_renew, session_cancel, session_reschedule
from tests.timeutil import seoul

pytestmark = pytest.mark.django_db


def parse(response: Any) -> Calendar:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events(calendar: Calendar) -> dict[str, Any]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def feed_url(patient: Patient) -> str:
    return reverse("calendar-feed", args=[calendar_feed_renew(patient=patient).token])


def test_the_download_is_a_valid_calendar_in_the_clinics_time_zone(
    patient_client: Client, course: TreatmentPlan
) -> None:
    response = patient_client.get(reverse("portal:calendar"))
    calendar = parse(response)

    assert response["Content-Disposition"].startswith("attachment;")
    assert str(calendar["VERSION"]) == "2.0"
    assert calendar["PRODID"]
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Asia/Seoul"
    found = events(calendar)
    assert len(found) == 3
    first = min(found.values(), key=lambda e: e["DTSTART"].dt)
    start = first["DTSTART"]
    assert start.params["TZID"] == "Asia/Seoul"
    assert start.dt.hour == 10
    assert str(start.dt.tzinfo) == "Asia/Seoul"
    assert first["DTEND"].dt - start.dt == timedelta(minutes=45)
    assert str(first["SUMMARY"]) == "Rejuran Healer · session 1 of 3"
    assert "Dr. Kim" in str(first["DESCRIPTION"])
    assert "numbing cream" in str(first["DESCRIPTION"])
    assert str(first["STATUS"]) == "CONFIRMED"
    assert int(first["SEQUENCE"]) == 0
    for event in found.values():  # RFC 5545 requires these on every event
        assert event["DTSTAMP"]
        assert event["UID"]


def test_a_move_keeps_the_uid_and_grows_the_sequence_and_a_cancel_says_cancelled(
    patient: Patient, course: TreatmentPlan, staff_user: User, client: Client, tuesday: date
) -> None:
    url = feed_url(patient)
    first, second, third = course.sessions.order_by("sequence")
    before = events(parse(client.get(url)))

    session_reschedule(
        session=second,
        new_start=second.starts_at - timedelta(days=1) + timedelta(hours=4),
        changed_by=staff_user,
    )
    session_cancel(session=third, reason="moving abroad", cancelled_by=staff_user)
    after = events(parse(client.get(url)))

    assert set(after) == set(before)  # the same events, updated in place
    uid_first, uid_second, uid_third = (
        next(uid for uid in after if uid.startswith(f"session-{s.pk}@"))
        for s in (first, second, third)
    )
    assert int(after[uid_first]["SEQUENCE"]) == int(before[uid_first]["SEQUENCE"]) == 0
    assert int(after[uid_second]["SEQUENCE"]) > int(before[uid_second]["SEQUENCE"])
    assert after[uid_second]["DTSTART"].dt.hour == 14
    assert str(after[uid_third]["STATUS"]) == "CANCELLED"
    assert int(after[uid_third]["SEQUENCE"]) > int(before[uid_third]["SEQUENCE"])


def test_the_subscription_needs_no_login_and_answers_only_that_patients_sessions(
    patient: Patient,
    other_patient: Patient,
    course: TreatmentPlan,
    book: Callable[..., TreatmentPlan],
    tuesday: date,
    client: Client,
) -> None:
    theirs = book(other_patient, seoul(tuesday, 15))

    mine = events(parse(client.get(feed_url(patient))))
    others = events(parse(client.get(feed_url(other_patient))))

    assert {uid.split("@")[0] for uid in mine} == {f"session-{s.pk}" for s in course.sessions.all()}
    theirs_uids = {f"session-{s.pk}" for s in theirs.sessions.all()}
    assert {uid.split("@")[0] for uid in others} == theirs_uids


def test_the_feed_is_in_the_patients_language(
    patient: Patient, course: TreatmentPlan, client: Client
) -> None:
    patient.preferred_language = "ko"
    patient.save()

    found = events(parse(client.get(feed_url(patient))))

    assert any("리쥬란 힐러" in str(event["SUMMARY"]) for event in found.values())


@pytest.mark.parametrize("token", ["nope", "x" * 32, "session-1"])
def test_a_wrong_token_is_not_found(
    patient: Patient, course: TreatmentPlan, client: Client, token: str
) -> None:
    calendar_feed_renew(patient=patient)

    assert client.get(reverse("calendar-feed", args=[token])).status_code == 404


def test_a_new_address_stops_the_old_one_at_once(
    patient_client: Client, patient: Patient, course: TreatmentPlan, client: Client
) -> None:
    old = feed_url(patient)
    assert client.get(old).status_code == 200

    response = patient_client.post(reverse("portal:calendar-renew"), follow=True)
    new = reverse("calendar-feed", args=[CalendarFeed.objects.get(patient=patient).token])

    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert new in response.text  # shown on My schedule
    assert "webcal://" in response.text


def test_my_schedule_offers_to_make_the_address_without_writing_on_view(
    patient_client: Client, patient: Patient
) -> None:
    page = patient_client.get(reverse("portal:schedule")).text

    assert "Make my calendar address" in page
    assert not CalendarFeed.objects.exists()


def test_the_address_cannot_be_renewed_by_a_get_or_by_staff(
    patient_client: Client, patient: Patient, staff_user: User, client: Client
) -> None:
    assert patient_client.get(reverse("portal:calendar-renew")).status_code == 405
    client.force_login(staff_user)
    assert client.post(reverse("portal:calendar-renew")).status_code == 403
    assert not CalendarFeed.objects.exists()


def test_the_download_and_the_feed_take_a_fixed_number_of_queries(
    patient: Patient,
    course: TreatmentPlan,
    book: Callable[..., TreatmentPlan],
    client: Client,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    url = feed_url(patient)
    from tests.timeutil import upcoming

    book(patient, seoul(upcoming(3, weeks_ahead=3), 16))
    assert Session.objects.filter(patient=patient).count() == 6

    with django_assert_num_queries(2):  # the feed's patient, the sessions
        response = client.get(url)

    assert len(events(parse(response))) == 6
