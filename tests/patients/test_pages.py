"""Staff pages about patients: the list with its search, the record form, the patient page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from patients.models import Consent, ConsentKind, MedicalFlag, Patient, PatientConcern
from patients.services import patient_save
from scheduling.models import PlanStatus, Practitioner, Session, SessionKind, TreatmentPlan
from scheduling.services import session_complete
from tests.factories import PatientFactory, SessionFactory, TreatmentPlanFactory
from tests.helpers import book_and_schedule, flag, snapshot
from tests.timeutil import local_today, seoul
from treatments.models import Contraindication, ProtocolTemplate, SkinConcern

pytestmark = pytest.mark.django_db

PAGES = ["staff:patients", "staff:patient-new", "staff:patient", "staff:patient-edit"]


def page_url(name: str, patient: Patient) -> str:
    if name in {"staff:patient", "staff:patient-edit"}:
        return reverse(name, args=[patient.pk])
    return reverse(name)


def text(response: Any) -> str:
    """The page's HTML with entities decoded, so "Ji-woo's" reads as typed."""
    return html.unescape(response.content.decode())


def widget(page: str, field_id: str) -> str:
    """The opening tag of the input, select or textarea with this id."""
    found = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{field_id}"[^>]*>', page)
    assert found, f"no field {field_id}"
    return found.group(0)


def logged_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def concern(slug: str) -> int:
    return SkinConcern.objects.get(slug=slug).pk


def condition(slug: str) -> Contraindication:
    return Contraindication.objects.get(slug=slug)


def form_data(
    *,
    concerns: Iterable[Mapping[str, Any]] = (),
    initial_concerns: int = 0,
    flags: Mapping[str, str] | None = None,
    consents: Iterable[str] = (),
    **fields: Any,
) -> dict[str, Any]:
    """What the patient form posts: details, the concern rows, ticked flags, consents."""
    rows = list(concerns)
    data: dict[str, Any] = {
        "family_name": "Lee",
        "given_name": "Ji-woo",
        "date_of_birth": "1991-05-02",
        "phone": "+82 10-1234-5678",
        "email": "jiwoo@example.com",
        "preferred_language": "ko",
        "reminder_channel": "sms",
        "notes": "",
        "concerns-TOTAL_FORMS": str(len(rows)),
        "concerns-INITIAL_FORMS": str(initial_concerns),
        "concerns-MIN_NUM_FORMS": "0",
        "concerns-MAX_NUM_FORMS": "1000",
        "consents-consents": list(consents),
        **fields,
    }
    for index, row in enumerate(rows):
        data.update({f"concerns-{index}-{key}": value for key, value in row.items()})
    for slug, note in (flags or {}).items():
        pk = condition(slug).pk
        data[f"medical_flags-flag_{pk}"] = "on"
        data[f"medical_flags-note_{pk}"] = note
    return data


def record_tables() -> dict[str, Any]:
    return {
        **snapshot(patients=Patient, concerns=PatientConcern, flags=MedicalFlag, consents=Consent),
        "patient history": Patient.history.count(),
        "concern history": PatientConcern.history.count(),
        "flag history": MedicalFlag.history.count(),
        "consent history": Consent.history.count(),
    }


@pytest.fixture
def park(db: None) -> Patient:
    """Another patient already on file, to collide with."""
    return PatientFactory(
        family_name="Park", given_name="Min-jun", phone="+82 10-9876-5432", email="mj@example.com"
    )


@pytest.fixture
def ji_woo(staff_user: User) -> Patient:
    """Lee Ji-woo, recorded with a concern, a fish allergy and consent to data processing."""
    return patient_save(
        fields={
            "family_name": "Lee",
            "given_name": "Ji-woo",
            "date_of_birth": date(1991, 5, 2),
            "phone": "+82 10-1234-5678",
            "email": "jiwoo@example.com",
            "preferred_language": "ko",
            "reminder_channel": "sms",
        },
        concerns=[
            {
                "concern": SkinConcern.objects.get(slug="thinning-skin"),
                "area": "under_eyes",
                "severity": 3,
                "note": "",
            }
        ],
        flags=[(condition("fish-allergy"), "hives after sushi")],
        consents=[ConsentKind.DATA_PROCESSING],
        changed_by=staff_user,
    )


# --- Who may open the pages --------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client: Client, patient: Any, name: str) -> None:
    response = client.get(page_url(name, patient))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES)
def test_patients_may_not_open_staff_pages(client: Client, patient: Any, name: str) -> None:
    response = logged_in(client, patient.user).get(page_url(name, patient))

    assert response.status_code == 403


def test_patients_may_not_add_a_patient(client: Client, patient: Any) -> None:
    before = record_tables()

    response = logged_in(client, patient.user).post(reverse("staff:patient-new"), form_data())

    assert response.status_code == 403
    assert record_tables() == before


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("persona", ["staff_user", "clinic_admin"])
def test_staff_and_clinic_admins_open_every_page(
    client: Client, request: pytest.FixtureRequest, patient: Any, name: str, persona: str
) -> None:
    response = logged_in(client, request.getfixturevalue(persona)).get(page_url(name, patient))

    assert response.status_code == 200


@pytest.mark.parametrize("name", ["staff:patient", "staff:patient-edit"])
def test_an_unknown_patient_is_not_found(client: Client, staff_user: User, name: str) -> None:
    response = logged_in(client, staff_user).get(reverse(name, args=[987654]))

    assert response.status_code == 404


def test_the_pages_run_under_a_strict_content_security_policy(
    client: Client, staff_user: User, ji_woo: Patient, treated: TreatmentPlan
) -> None:
    logged_in(client, staff_user)
    for name in PAGES:
        page = text(client.get(page_url(name, ji_woo)))

        assert " style=" not in page, name
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), name
        assert not re.search(r"\son[a-z]+=", page), name
        assert "hx-on" not in page, name


# --- The list and its search -------------------------------------------------------------------


@pytest.fixture
def search_people(db: None) -> dict[str, Patient]:
    return {
        "korean": PatientFactory(family_name="이", given_name="지우", phone="", email=""),
        "english": PatientFactory(
            family_name="Lee", given_name="Ji-woo", phone="+82 10-1234-5678", email="lee@ex.com"
        ),
        "other": PatientFactory(
            family_name="Choi", given_name="Yuna", phone="+82 10-2222-3333", email="yuna@clinic.kr"
        ),
    }


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("이지우", "korean"),
        ("ji-woo lee", "english"),
        ("010-1234-5678", "english"),
        ("yuna@clinic.kr", "other"),
    ],
)
def test_search_finds_by_name_either_way_round_phone_or_email(
    client: Client,
    staff_user: User,
    search_people: dict[str, Patient],
    query: str,
    found: str,
) -> None:
    response = logged_in(client, staff_user).get(reverse("staff:patients"), {"q": query})

    page = text(response)
    for key, person in search_people.items():
        link = reverse("staff:patient", args=[person.pk])
        assert (f'href="{link}"' in page) == (key == found), key
    assert "<html" in page  # without HTMX, the whole page


def test_typing_in_the_search_box_asks_for_the_results_alone(
    client: Client, staff_user: User, search_people: dict[str, Patient]
) -> None:
    response = logged_in(client, staff_user).get(
        reverse("staff:patients"), {"q": "Choi"}, headers={"HX-Request": "true"}
    )

    page = text(response)
    assert page.lstrip().startswith('<section id="patient-results"')
    assert "<html" not in page
    assert "Choi Yuna" in page
    assert "Lee Ji-woo" not in page
    assert "HX-Request" in response["Vary"]


def test_going_back_after_the_browser_forgot_the_page_gets_the_whole_page(
    client: Client, staff_user: User, search_people: dict[str, Patient]
) -> None:
    response = logged_in(client, staff_user).get(
        reverse("staff:patients"),
        {"q": "Choi"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )

    assert "<html" in text(response)


def test_the_search_box_searches_while_typing_and_without_javascript(
    client: Client, staff_user: User
) -> None:
    page = text(logged_in(client, staff_user).get(reverse("staff:patients")))

    search = widget(page, "patient-search")
    assert 'type="search"' in search
    assert f'hx-get="{reverse("staff:patients")}"' in search
    assert 'hx-trigger="input changed delay:250ms, search"' in search
    assert 'hx-target="#patient-results"' in search
    assert 'hx-push-url="true"' in search
    assert '<label for="patient-search">' in page
    assert re.search(r'<form method="get" action="/staff/patients/"', page)
    assert '<button type="submit">Search</button>' in page
    assert reverse("staff:patient-new") in page


def test_a_row_shows_birth_date_and_age_contact_a_flag_badge_and_the_latest_course(
    client: Client, staff_user: User, ji_woo: Patient
) -> None:
    TreatmentPlanFactory(patient=ji_woo, status=PlanStatus.COMPLETED)
    TreatmentPlanFactory(patient=ji_woo, status=PlanStatus.MAINTENANCE)

    page = text(logged_in(client, staff_user).get(reverse("staff:patients"), {"q": "ji-woo"}))

    assert "Thu 2 May 1991" in page
    today = local_today()
    age = today.year - 1991 - ((today.month, today.day) < (5, 2))
    assert f"(age {age})" in page
    assert "+82 10-1234-5678" in page
    assert "jiwoo@example.com" in page
    assert '<span class="badge badge-flag">Medical flag</span>' in page
    assert '<span class="badge badge-maintenance">In maintenance</span>' in page


def test_on_a_phone_each_cell_of_every_row_is_labelled_in_the_readers_language(
    client: Client, staff_user: User
) -> None:
    for _ in range(3):
        PatientFactory(family_name="Lee")

    page = text(
        logged_in(client, staff_user).get(
            reverse("staff:patients"), {"q": "lee"}, HTTP_ACCEPT_LANGUAGE="ko"
        )
    )

    for label in ("생년월일", "최근 시술 코스"):
        assert page.count(f'data-label="{label}"') == 3
        assert f'<th scope="col">{label}</th>' in page


def test_the_list_is_paginated_by_25(client: Client, staff_user: User) -> None:
    PatientFactory.create_batch(30, family_name="Kang")

    first = text(logged_in(client, staff_user).get(reverse("staff:patients"), {"q": "kang"}))
    second = text(client.get(reverse("staff:patients"), {"q": "kang", "page": "2"}))

    assert first.count('class="patient-name"') == 25
    assert second.count('class="patient-name"') == 5
    assert "Page 1 of 2" in first
    assert "?q=kang&page=2" in first


def many_patients(count: int) -> None:
    """Patients with a login, an open flag and a course each: everything a row shows."""
    for patient in PatientFactory.create_batch(count):
        flag(patient, "pregnancy")
        TreatmentPlanFactory(patient=patient, status=PlanStatus.ACTIVE)


@pytest.mark.parametrize("count", [10, 200])
def test_the_list_takes_the_same_queries_for_10_or_200_patients(
    client: Client,
    staff_user: User,
    django_assert_num_queries: Callable[..., Any],
    count: int,
) -> None:
    many_patients(count)
    logged_in(client, staff_user)

    # session, user with roles; count, one page of patients with flags and latest course; the
    # access log (one INSERT for the page's patients)
    with django_assert_num_queries(5):
        response = client.get(reverse("staff:patients"))

    assert text(response).count('class="patient-name"') == min(count, 25)


# --- Adding and editing a record ---------------------------------------------------------------


def test_the_new_patient_form_offers_every_part(client: Client, staff_user: User) -> None:
    page = text(logged_in(client, staff_user).get(reverse("staff:patient-new")))

    assert 'name="csrfmiddlewaretoken"' in page
    assert 'type="date"' in widget(page, "id_date_of_birth")
    for field in ("family_name", "given_name", "phone", "email", "notes"):
        assert f'<label for="id_{field}">' in page
    # three blank concern rows, concerns named in the page's language
    assert 'name="concerns-TOTAL_FORMS" value="3"' in page
    assert "concerns-2-concern" in page
    assert "concerns-0-DELETE" not in page  # blank rows have nothing to remove
    assert "Thinning skin" in page
    # a checkbox and a note for each condition in the catalogue; the general consents
    for item in Contraindication.objects.all():
        assert f'name="medical_flags-flag_{item.pk}"' in page
        assert f'name="medical_flags-note_{item.pk}"' in page
    assert "Processing of health data" in page
    assert "Appointment reminders by email or text" in page
    assert "Before/after photographs" in page


def test_staff_add_a_patient_with_concerns_flags_and_consents(
    client: Client, staff_user: User
) -> None:
    data = form_data(
        concerns=[
            {"concern": concern("thinning-skin"), "area": "under_eyes", "severity": "3"},
            {"concern": concern("enlarged-pores"), "area": "cheeks", "severity": "2"},
            {"concern": "", "area": "full_face", "severity": "2", "note": ""},  # left blank
        ],
        flags={"fish-allergy": "hives after sushi"},
        consents=["data_processing", "reminders"],
    )

    response = logged_in(client, staff_user).post(reverse("staff:patient-new"), data)

    patient = Patient.objects.get(family_name="Lee", given_name="Ji-woo")
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:patient", args=[patient.pk])
    assert patient.date_of_birth == date(1991, 5, 2)
    assert sorted((c.concern.slug, c.area, c.severity) for c in patient.concerns.all()) == [
        ("enlarged-pores", "cheeks", 2),
        ("thinning-skin", "under_eyes", 3),
    ]
    flag = patient.medical_flags.get()
    assert (flag.condition.slug, flag.note, flag.recorded_by) == (
        "fish-allergy",
        "hives after sushi",
        staff_user,
    )
    assert set(patient.consents.values_list("kind", flat=True)) == {"data_processing", "reminders"}
    assert patient.history.get().history_user == staff_user
    assert PatientConcern.history.filter(patient_id=patient.pk)[0].history_user == staff_user
    assert "Added Lee Ji-woo." in text(client.get(response["Location"]))


def test_the_edit_form_shows_the_record_with_one_blank_concern_row(
    client: Client, staff_user: User, ji_woo: Patient
) -> None:
    page = text(logged_in(client, staff_user).get(reverse("staff:patient-edit", args=[ji_woo.pk])))

    assert 'value="Lee"' in widget(page, "id_family_name")
    assert 'value="1991-05-02"' in widget(page, "id_date_of_birth")
    assert 'name="concerns-TOTAL_FORMS" value="2"' in page
    assert 'name="concerns-0-DELETE"' in page
    assert "concerns-1-DELETE" not in page
    fish = condition("fish-allergy").pk
    assert "checked" in widget(page, f"id_medical_flags-flag_{fish}")
    assert 'value="hives after sushi"' in widget(page, f"id_medical_flags-note_{fish}")
    assert "checked" in widget(page, "id_consents-consents_0")  # data processing


def test_staff_edit_a_record_in_one_save(client: Client, staff_user: User, ji_woo: Patient) -> None:
    data = form_data(
        phone="010-5555-0101",
        reminder_channel="email",
        initial_concerns=1,
        concerns=[
            {
                "concern": concern("thinning-skin"),
                "area": "under_eyes",
                "severity": "3",
                "DELETE": "on",
            },
            {"concern": concern("acne-scars"), "area": "cheeks", "severity": "1", "note": "old"},
        ],
        flags={"pregnancy": ""},
        consents=["reminders"],
    )

    response = logged_in(client, staff_user).post(
        reverse("staff:patient-edit", args=[ji_woo.pk]), data
    )

    assert response.status_code == 302
    ji_woo.refresh_from_db()
    assert (ji_woo.phone, ji_woo.reminder_channel) == ("+821055550101", "email")  # E.164
    assert [(c.concern.slug, c.note) for c in ji_woo.concerns.all()] == [("acne-scars", "old")]
    flags = {f.condition.slug: f.resolved_at for f in ji_woo.medical_flags.all()}
    assert flags["fish-allergy"] is not None  # resolved, kept in the record
    assert flags["pregnancy"] is None
    given = {c.kind: c.withdrawn_at for c in ji_woo.consents.all()}
    assert given["data_processing"] is not None
    assert given["reminders"] is None
    assert ji_woo.history.first().history_user == staff_user
    assert "Saved Lee Ji-woo's record." in text(client.get(response["Location"]))


BAD_INPUT = {
    "missing name": ({"family_name": ""}, "id_family_name", "This field is required."),
    "born in the future": (
        {"date_of_birth": (local_today() + timedelta(days=2)).isoformat()},
        "id_date_of_birth",
        "Enter a date of birth between 1 January 1900 and today.",
    ),
    "bad email": ({"email": "jiwoo@"}, "id_email", "Enter a valid email address."),
    "phone of another patient, written another way": (
        {"phone": "010-9876-5432"},
        "id_phone",
        "Park Min-jun already has this phone number.",
    ),
    "email of another patient": (
        {"email": "MJ@example.com"},
        "id_email",
        "Park Min-jun already has this email address.",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUT)
@pytest.mark.parametrize("editing", [False, True], ids=["new", "edit"])
def test_bad_details_are_shown_beside_the_field_and_nothing_is_saved(
    client: Client, staff_user: User, ji_woo: Patient, park: Patient, case: str, editing: bool
) -> None:
    fields, field_id, message = BAD_INPUT[case]
    url = (
        reverse("staff:patient-edit", args=[ji_woo.pk]) if editing else reverse("staff:patient-new")
    )
    if not editing:
        fields = {"phone": "", "email": "", **fields}  # not Ji-woo's own, already on file
    data = form_data(
        concerns=[{"concern": concern("acne-scars"), "area": "cheeks", "severity": "2"}],
        flags={"pregnancy": ""},
        consents=["photography"],
        **fields,
    )
    before = record_tables()

    response = logged_in(client, staff_user).post(url, data)

    assert response.status_code == 200
    page = text(response)
    tag = widget(page, field_id)
    assert 'aria-invalid="true"' in tag
    assert f'aria-describedby="{field_id}_error"' in tag
    assert f'<ul class="errorlist" id="{field_id}_error"><li>{message}</li></ul>' in page
    summary = page[page.index('class="error-summary" role="alert"') :]
    assert f'<a href="#{field_id}">' in summary[: summary.index("</div>")]
    assert message in summary[: summary.index("</div>")]
    assert record_tables() == before


def test_a_concern_twice_for_the_same_area_is_refused_and_nothing_is_saved(
    client: Client, staff_user: User
) -> None:
    data = form_data(
        concerns=[
            {"concern": concern("acne-scars"), "area": "cheeks", "severity": "2"},
            {"concern": concern("acne-scars"), "area": "cheeks", "severity": "3"},
        ]
    )
    before = record_tables()

    response = logged_in(client, staff_user).post(reverse("staff:patient-new"), data)

    page = text(response)
    assert response.status_code == 200
    assert (
        '<ul class="errorlist" id="concerns-errors"><li>'
        "A concern is listed twice for the same area.</li></ul>" in page
    )
    assert 'id="concerns" aria-describedby="concerns-errors"' in page
    assert '<a href="#concerns">Skin concerns</a>: A concern is listed twice' in page
    assert record_tables() == before


def test_a_concern_row_without_a_concern_says_so(client: Client, staff_user: User) -> None:
    data = form_data(concerns=[{"concern": "", "area": "neck", "severity": "2"}])
    before = record_tables()

    response = logged_in(client, staff_user).post(reverse("staff:patient-new"), data)

    assert 'aria-invalid="true"' in widget(text(response), "id_concerns-0-concern")
    assert "Choose the concern." in text(response)
    assert record_tables() == before


def test_a_note_on_an_unticked_condition_is_refused(client: Client, staff_user: User) -> None:
    data = form_data()
    data[f"medical_flags-note_{condition('pregnancy').pk}"] = "due in May"
    before = record_tables()

    response = logged_in(client, staff_user).post(reverse("staff:patient-new"), data)

    assert "Tick the condition to keep this note." in text(response)
    assert record_tables() == before


# --- The patient page --------------------------------------------------------------------------


@pytest.fixture
def treated(
    ji_woo: Patient,
    rejuran: ProtocolTemplate,
    kim: Practitioner,
    staff_user: User,
    tuesday: date,
) -> TreatmentPlan:
    """Ji-woo's Rejuran course, booked despite her fish allergy, session 1 done with swelling."""
    plan = book_and_schedule(
        ji_woo,
        rejuran,
        kim,
        seoul(tuesday, 10),
        staff_user,
        override_reason="Allergist cleared PN products.",
    )
    first = plan.sessions.get(sequence=1)
    session_complete(
        session=first,
        completed_by=staff_user,
        reactions=["swelling", "bumps"],
        reaction_notes="Gone by the next morning.",
        now=first.starts_at + timedelta(hours=1),
    )
    return plan


def test_the_patient_page_shows_the_record(
    client: Client, staff_user: User, ji_woo: Patient
) -> None:
    page = text(logged_in(client, staff_user).get(reverse("staff:patient", args=[ji_woo.pk])))

    assert "<h1>Lee Ji-woo</h1>" in page
    assert "Thu 2 May 1991" in page
    assert "+82 10-1234-5678" in page
    assert "jiwoo@example.com" in page
    assert "한국어" in page
    assert "Text message" in page
    assert re.search(r"<dt>Portal login</dt>\s*<dd[^>]*>No\b", page)
    assert "Create a portal login" in page
    assert "Thinning skin" in page
    assert "Under the eyes, Severe" in page
    assert "Processing of health data" in page
    assert f'href="{reverse("staff:patient-edit", args=[ji_woo.pk])}"' in page
    assert f'href="{reverse("staff:book", args=[ji_woo.pk])}"' in page


def test_open_flags_are_highlighted_with_the_treatments_they_rule_out(
    client: Client, staff_user: User, ji_woo: Patient
) -> None:
    flag(ji_woo, "hyaluronic-acid-allergy", resolved_at=seoul(date(2024, 1, 5), 9))

    page = text(logged_in(client, staff_user).get(reverse("staff:patient", args=[ji_woo.pk])))

    flags = page[page.index('class="alert alert-error patient-flags"') :]
    flags = flags[: flags.index("</section>")]
    assert '<li class="flag">' in flags
    assert "Fish or salmon allergy — rules out Rejuran Healer" in flags
    assert "hives after sushi" in flags
    assert "hyaluronic" not in flags.lower()  # resolved: no longer applies


def test_the_patient_page_shows_each_course_with_timeline_sessions_and_reactions(
    client: Client, staff_user: User, ji_woo: Patient, treated: TreatmentPlan
) -> None:
    page = text(logged_in(client, staff_user).get(reverse("staff:patient", args=[ji_woo.pk])))

    course = page[page.index(f'id="course-{treated.pk}-title"') :]
    assert "Rejuran Healer" in course
    assert treated.template.name in course
    assert "Dr. Kim" in course
    assert f'<span class="badge badge-{treated.status}">' in course
    assert "Booked despite a recorded contraindication: Fish or salmon allergy." in course
    assert "Reason given: Allergist cleared PN products." in course
    assert '<svg class="tl-svg"' in course
    sessions = course[course.index('<ol class="session-list">') :]
    assert sessions.count('<li class="session-item">') == treated.sessions.count()
    assert '<span class="session-number">1/' in sessions
    first = treated.sessions.get(sequence=1)
    assert seoul_text(first.starts_at) in sessions
    assert '<span class="badge badge-completed">Completed</span>' in sessions
    assert "Swelling, Injection bumps" in sessions
    assert "Gone by the next morning." in sessions


def seoul_text(moment: Any) -> str:
    """How the English page writes an instant: on the clinic's clock."""
    local = moment.astimezone(seoul(date(2026, 1, 1), 0).tzinfo)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def test_a_course_needing_attention_says_why(
    client: Client, staff_user: User, ji_woo: Patient
) -> None:
    TreatmentPlanFactory(
        patient=ji_woo,
        status=PlanStatus.NEEDS_ATTENTION,
        attention_reason="Session 2 was missed; the window closes on 3 March.",
    )

    page = text(logged_in(client, staff_user).get(reverse("staff:patient", args=[ji_woo.pk])))

    assert "Session 2 was missed; the window closes on 3 March." in page
    assert 'class="alert alert-warning"' in page


def test_the_history_says_who_changed_what(
    client: Client, staff_user: User, clinic_admin: User, ji_woo: Patient
) -> None:
    clinic_admin.first_name, clinic_admin.last_name = "Hana", "Seo"
    clinic_admin.save()
    logged_in(client, clinic_admin).post(
        reverse("staff:patient-edit", args=[ji_woo.pk]),
        form_data(
            phone="+82 10-1234-9999",
            initial_concerns=1,
            concerns=[{"concern": concern("thinning-skin"), "area": "under_eyes", "severity": "3"}],
            consents=["data_processing"],
        ),
    )

    page = text(client.get(reverse("staff:patient-history", args=[ji_woo.pk])))

    assert "History of Lee Ji-woo's record" in page
    entries = page.split('<li class="history-entry">')[1:]
    assert "Hana Seo" in entries[0]
    phone_change = next(e for e in entries if "Patient record" in e and "Phone:" in e)
    assert "+82 10-1234-5678" in phone_change
    assert "+82 10-1234-9999" in phone_change
    resolved = next(e for e in entries if "Medical flag: Fish or salmon allergy" in e)
    assert "No longer applies since:" in resolved
    created = [e for e in entries if "created" in e]
    assert any("Patient record" in e and staff_user.get_full_name() in e for e in created)


def test_the_patient_page_loads_its_history_only_when_opened(
    client: Client, staff_user: User, ji_woo: Patient
) -> None:
    history_url = reverse("staff:patient-history", args=[ji_woo.pk])

    page = text(logged_in(client, staff_user).get(reverse("staff:patient", args=[ji_woo.pk])))

    panel = page[page.index('<details class="history-panel"') :]
    panel = panel[: panel.index("</details>")]
    assert f'hx-get="{history_url}"' in panel
    assert 'hx-trigger="toggle once"' in panel
    assert f'<a href="{history_url}">Open the history of changes</a>' in panel  # without JS
    assert '<li class="history-entry">' not in page


def test_the_history_is_a_page_of_its_own_or_the_list_alone_for_htmx(
    client: Client, staff_user: User, ji_woo: Patient
) -> None:
    url = reverse("staff:patient-history", args=[ji_woo.pk])
    logged_in(client, staff_user)

    whole = client.get(url)
    fragment = client.get(url, headers={"HX-Request": "true"})

    assert "<html" in text(whole)
    assert f'href="{reverse("staff:patient", args=[ji_woo.pk])}"' in text(whole)
    assert "<html" not in text(fragment)
    assert text(fragment).strip().startswith('<ol class="history">')
    assert (
        text(fragment).count('<li class="history-entry">')
        == text(whole).count('<li class="history-entry">')
        > 0
    )
    assert "HX-Request" in fragment["Vary"]


def test_the_history_of_a_missing_patient_is_not_found(client: Client, staff_user: User) -> None:
    response = logged_in(client, staff_user).get(reverse("staff:patient-history", args=[999999]))

    assert response.status_code == 404


def patient_with_courses(
    patient: Patient, practitioner: Practitioner, courses: int, sessions_each: int
) -> None:
    """Courses with initial sessions then maintenance ones, a few moved or completed: rows
    for the session list and records for the history."""
    start = seoul(local_today() - timedelta(days=400), 10)
    for number in range(courses):
        plan = TreatmentPlanFactory(
            patient=patient,
            practitioner=practitioner,
            status=PlanStatus.MAINTENANCE,
            first_session_at=start + timedelta(days=number),
            maintenance_due_on=local_today() + timedelta(days=30),
        )
        for sequence in range(1, sessions_each + 1):
            initial = sequence <= plan.session_count
            starts = plan.first_session_at + (
                timedelta(days=28 * (sequence - 1))
                if initial
                else timedelta(days=28 * plan.session_count + 180 * (sequence - plan.session_count))
            )
            session = SessionFactory(
                plan=plan,
                sequence=sequence,
                kind=SessionKind.INITIAL if initial else SessionKind.MAINTENANCE,
                starts_at=starts,
                ends_at=starts + timedelta(minutes=45),
                practitioner=practitioner,
                reactions=["redness"],
            )
            if sequence % 2:
                session.status = "completed"
                session.save()


@pytest.mark.parametrize(("courses", "sessions_each"), [(2, 5), (10, 20)])
def test_the_patient_page_takes_the_same_queries_for_10_or_200_sessions(
    client: Client,
    staff_user: User,
    ji_woo: Patient,
    kim: Practitioner,
    django_assert_num_queries: Callable[..., Any],
    courses: int,
    sessions_each: int,
) -> None:
    patient_with_courses(ji_woo, kim, courses, sessions_each)
    assert Session.objects.filter(plan__patient=ji_woo).count() == courses * sessions_each
    logged_in(client, staff_user)

    # session, user with roles; patient, concerns, flags, treatments they rule out, consents,
    # courses, sessions; the catalogue's protocols and milestones (kept in production); the
    # patient's requests, and the catalogue again for their courses; the access log (one INSERT)
    with django_assert_num_queries(15):
        response = client.get(reverse("staff:patient", args=[ji_woo.pk]))

    page = text(response)
    assert page.count('<li class="session-item">') == courses * sessions_each
    assert page.count('<svg class="tl-svg"') == courses


@pytest.mark.parametrize(("courses", "sessions_each"), [(2, 5), (10, 20)])
def test_the_history_takes_the_same_queries_for_20_or_300_changes(
    client: Client,
    staff_user: User,
    ji_woo: Patient,
    kim: Practitioner,
    django_assert_num_queries: Callable[..., Any],
    courses: int,
    sessions_each: int,
) -> None:
    patient_with_courses(ji_woo, kim, courses, sessions_each)
    changes = 1 + 1 + 1 + 1 + courses * (1 + sessions_each + (sessions_each + 1) // 2)
    logged_in(client, staff_user)

    # session, user with roles; patient; the six history tables; the access log (one INSERT)
    with django_assert_num_queries(10):
        response = client.get(
            reverse("staff:patient-history", args=[ji_woo.pk]), headers={"HX-Request": "true"}
        )

    page = text(response)
    assert page.count('<li class="history-entry">') == min(50, changes)
    assert ("Only the latest 50 changes are shown." in page) == (changes > 50)
