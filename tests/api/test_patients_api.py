"""Patient records over HTTP (staff only), with their concerns and medical flags, and the
treatments suggested for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from patients.models import MedicalFlag, Patient, PatientConcern
from tests.api.helpers import (
    API,
    CLIENTS,
    ERROR_CODES,
    NOT_LOGGED_IN,
    access_cases,
    assert_errors,
    assert_not_logged_in,
)
from tests.factories import PatientFactory
from tests.helpers import add_treatments, flag, snapshot
from treatments.models import Contraindication, SkinConcern, Treatment

pytestmark = pytest.mark.django_db


STAFF_ONLY = "Only clinic staff can do this."


def new_patient(**overrides: Any) -> dict[str, Any]:
    return {
        "family_name": "Park",
        "given_name": "Jiwoo",
        "date_of_birth": "1991-07-21",
        "phone": "+82 10-2222-3333",
        "email": "jiwoo.park@example.com",
        "preferred_language": "ko",
        "reminder_channel": "sms",
        "notes": "Prefers mornings.",
        "concerns": [
            {"concern": "thinning-skin", "area": "under_eyes", "severity": 3, "note": "dark"},
            {"concern": "redness-sensitivity", "area": "cheeks", "severity": 2},
        ],
        "medical_flags": [{"condition": "fish-allergy", "note": "hives from salmon"}],
        **overrides,
    }


def records() -> dict[str, list[dict[str, Any]]]:
    return snapshot(patients=Patient, concerns=PatientConcern, flags=MedicalFlag)


def concern(patient: Patient, slug: str, *, area: str = "full_face", severity: int = 2) -> Any:
    return PatientConcern.objects.create(
        patient=patient, concern=SkinConcern.objects.get(slug=slug), area=area, severity=severity
    )


@pytest.fixture
def jiwoo(db: None) -> Patient:
    """A patient on record without a portal login, with two concerns and a fish allergy."""
    patient = PatientFactory(
        user=None, family_name="Park", given_name="Jiwoo", phone="+82 10-1234-5678"
    )
    concern(patient, "thinning-skin", area="under_eyes", severity=3)
    concern(patient, "redness-sensitivity", area="cheeks", severity=2)
    flag(patient, "fish-allergy")
    return patient


# --- Who may do what --------------------------------------------------------------------------


# Expected status per logged-in role; anonymous callers are always refused as not logged in
# (401 by contract, 403 today: see test_auth_and_errors).
def staff_only(status: int) -> dict[str, int]:
    return {"patient": 403, "staff": status, "clinic admin": status}


PATIENT_ACCESS: list[tuple[str, str, Any, dict[str, int]]] = [
    ("get", "/patients/", None, staff_only(200)),
    ("get", "/patients/{id}/", None, staff_only(200)),
    ("post", "/patients/", new_patient(), staff_only(201)),
    ("put", "/patients/{id}/", new_patient(concerns=[]), staff_only(200)),
    ("patch", "/patients/{id}/", {"notes": "Called to confirm."}, staff_only(200)),
    ("delete", "/patients/{id}/", None, staff_only(405)),
    ("get", "/suggestions/?patient={id}", None, staff_only(200)),
    ("post", "/suggestions/?patient={id}", {}, staff_only(405)),
]


@pytest.mark.parametrize(("role", "method", "path", "body", "status"), access_cases(PATIENT_ACCESS))
def test_only_staff_work_with_patient_records(
    request: pytest.FixtureRequest,
    jiwoo: Patient,
    role: str,
    method: str,
    path: str,
    body: Any,
    status: int | str,
) -> None:
    client: APIClient = request.getfixturevalue(CLIENTS[role])
    before = records()

    response = getattr(client, method)(f"{API}{path.format(id=jiwoo.pk)}", body)

    if status == NOT_LOGGED_IN:
        assert_not_logged_in(response)
    elif status in ERROR_CODES:
        [error] = assert_errors(response, status, (None, ERROR_CODES[status]))
        if status == 403:
            assert error["message"] == STAFF_ONLY
    else:
        assert response.status_code == status, response.content
    if response.status_code >= 400:
        assert records() == before


def test_a_patient_cannot_read_even_their_own_record_through_the_staff_endpoint(
    patient_api: APIClient, patient: Patient
) -> None:
    response = patient_api.get(f"{API}/patients/{patient.pk}/")

    assert_errors(response, 403, (None, "permission_denied"))


# --- Creating ---------------------------------------------------------------------------------


def test_staff_record_a_new_patient_with_concerns_and_medical_flags(
    staff_api: APIClient, staff_user: User
) -> None:
    response = staff_api.post(f"{API}/patients/", new_patient())

    assert response.status_code == 201, response.content
    body = response.json()
    patient = Patient.objects.get(pk=body["id"])
    assert (patient.family_name, patient.given_name, str(patient.date_of_birth)) == (
        "Park",
        "Jiwoo",
        "1991-07-21",
    )
    assert body["has_login"] is False
    assert body["concerns"] == [
        {
            "concern": "thinning-skin",
            "concern_name": "Thinning skin (under the eyes, neck)",
            "area": "under_eyes",
            "severity": 3,
            "note": "dark",
        },
        {
            "concern": "redness-sensitivity",
            "concern_name": "Redness and sensitivity",
            "area": "cheeks",
            "severity": 2,
            "note": "",
        },
    ]
    [shown_flag] = body["medical_flags"]
    assert {k: shown_flag[k] for k in ("condition", "condition_name", "note")} == {
        "condition": "fish-allergy",
        "condition_name": "Fish or salmon allergy",
        "note": "hives from salmon",
    }
    assert shown_flag["recorded_at"].endswith("+09:00")
    [recorded] = patient.medical_flags.all()
    assert recorded.recorded_by == staff_user
    assert recorded.resolved_at is None
    assert patient.history.get().history_user == staff_user


def test_concerns_take_the_full_face_and_moderate_severity_unless_told(
    staff_api: APIClient,
) -> None:
    response = staff_api.post(
        f"{API}/patients/", new_patient(concerns=[{"concern": "dullness"}], medical_flags=[])
    )

    assert response.status_code == 201, response.content
    assert response.json()["concerns"] == [
        {
            "concern": "dullness",
            "concern_name": "Dull, tired-looking skin",
            "area": "full_face",
            "severity": 2,
            "note": "",
        }
    ]
    assert response.json()["medical_flags"] == []


def test_the_same_concern_may_be_recorded_for_two_areas(staff_api: APIClient) -> None:
    response = staff_api.post(
        f"{API}/patients/",
        new_patient(
            concerns=[
                {"concern": "thinning-skin", "area": "under_eyes"},
                {"concern": "thinning-skin", "area": "neck"},
            ]
        ),
    )

    assert response.status_code == 201, response.content
    assert PatientConcern.objects.filter(concern__slug="thinning-skin").count() == 2


def test_a_patient_may_be_recorded_with_only_the_required_fields(staff_api: APIClient) -> None:
    response = staff_api.post(
        f"{API}/patients/",
        {"family_name": "Lee", "given_name": "Min", "date_of_birth": "2000-01-01"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["preferred_language"], body["reminder_channel"]) == ("ko", "sms")
    assert (body["concerns"], body["medical_flags"]) == ([], [])


# --- Reading ----------------------------------------------------------------------------------


def test_a_patient_record_shows_concerns_and_only_the_flags_that_apply_now(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    flag(jiwoo, "pregnancy", resolved_at=timezone.now())

    body = staff_api.get(f"{API}/patients/{jiwoo.pk}/").json()

    assert body["id"] == jiwoo.pk
    assert [(c["concern"], c["area"], c["severity"]) for c in body["concerns"]] == [
        ("thinning-skin", "under_eyes", 3),
        ("redness-sensitivity", "cheeks", 2),
    ]
    assert [f["condition"] for f in body["medical_flags"]] == ["fish-allergy"]
    assert body["created_at"].endswith("+09:00")


def test_an_unknown_patient_is_not_found(staff_api: APIClient) -> None:
    response = staff_api.get(f"{API}/patients/999999/")

    [error] = assert_errors(response, 404, (None, "not_found"))
    assert error["message"] == "Not found."


def test_the_list_is_in_name_order_and_names_the_time_zone(staff_api: APIClient) -> None:
    for family, given in [("Yoon", "Ara"), ("Ahn", "Bora"), ("Ahn", "Ara")]:
        PatientFactory(user=None, family_name=family, given_name=given)

    body = staff_api.get(f"{API}/patients/").json()

    assert list(body) == ["count", "next", "previous", "time_zone", "results"]
    assert body["time_zone"] == "Asia/Seoul"
    assert [(p["family_name"], p["given_name"]) for p in body["results"]] == [
        ("Ahn", "Ara"),
        ("Ahn", "Bora"),
        ("Yoon", "Ara"),
    ]


def test_the_list_comes_in_pages(staff_api: APIClient) -> None:
    for n in range(5):
        PatientFactory(user=None, family_name=f"Family{n}")

    first = staff_api.get(f"{API}/patients/?page_size=2").json()
    last = staff_api.get(f"{API}/patients/?page_size=2&page=3").json()

    assert first["count"] == 5
    assert [p["family_name"] for p in first["results"]] == ["Family0", "Family1"]
    assert "page=2" in first["next"]
    assert first["previous"] is None
    assert [p["family_name"] for p in last["results"]] == ["Family4"]
    assert last["next"] is None
    assert_errors(staff_api.get(f"{API}/patients/?page_size=2&page=4"), 404, (None, "not_found"))


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("park", ["Park Jiwoo"]),
        ("JIWOO", ["Park Jiwoo"]),
        ("1234-5678", ["Park Jiwoo"]),
        ("seoyeon@", ["Choi Seoyeon"]),
        ("Choi", ["Choi Seoyeon"]),
        ("nobody", []),
    ],
)
def test_staff_find_patients_by_name_phone_or_email(
    staff_api: APIClient, jiwoo: Patient, term: str, found: list[str]
) -> None:
    PatientFactory(
        user=None,
        family_name="Choi",
        given_name="Seoyeon",
        phone="+82 10-9999-0000",
        email="seoyeon@example.com",
    )

    body = staff_api.get(f"{API}/patients/", {"search": term}).json()

    assert [f"{p['family_name']} {p['given_name']}" for p in body["results"]] == found
    assert body["count"] == len(found)


# --- Updating ---------------------------------------------------------------------------------


def test_put_replaces_the_record_and_its_concerns(
    staff_api: APIClient, jiwoo: Patient, staff_user: User
) -> None:
    kept = PatientConcern.objects.get(patient=jiwoo, concern__slug="thinning-skin")

    response = staff_api.put(
        f"{API}/patients/{jiwoo.pk}/",
        new_patient(
            given_name="Ji-woo",
            concerns=[
                {"concern": "thinning-skin", "area": "under_eyes", "severity": 1},
                {"concern": "acne-scars", "area": "cheeks", "severity": 2},
            ],
            medical_flags=[{"condition": "fish-allergy"}],
        ),
    )

    assert response.status_code == 200, response.content
    jiwoo.refresh_from_db()
    assert jiwoo.given_name == "Ji-woo"
    assert {(c.concern.slug, c.area, c.severity) for c in jiwoo.concerns.all()} == {
        ("thinning-skin", "under_eyes", 1),
        ("acne-scars", "cheeks", 2),
    }
    assert PatientConcern.objects.get(pk=kept.pk).severity == 1  # updated in place
    assert [c["concern"] for c in response.json()["concerns"]] == ["acne-scars", "thinning-skin"]
    assert jiwoo.history.latest().history_user == staff_user


def test_patch_without_concerns_or_flags_leaves_them_alone(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    before = records()

    response = staff_api.patch(f"{API}/patients/{jiwoo.pk}/", {"notes": "Moved to Busan."})

    assert response.status_code == 200, response.content
    after = records()
    assert (after["concerns"], after["flags"]) == (before["concerns"], before["flags"])
    assert Patient.objects.get(pk=jiwoo.pk).notes == "Moved to Busan."


def test_an_empty_concern_list_clears_the_concerns(staff_api: APIClient, jiwoo: Patient) -> None:
    response = staff_api.patch(f"{API}/patients/{jiwoo.pk}/", {"concerns": []})

    assert response.status_code == 200, response.content
    assert response.json()["concerns"] == []
    assert not jiwoo.concerns.exists()


def test_a_flag_left_out_is_resolved_kept_on_record_and_no_longer_shown(
    staff_api: APIClient, jiwoo: Patient, staff_user: User
) -> None:
    fish = MedicalFlag.objects.get(patient=jiwoo)

    response = staff_api.patch(
        f"{API}/patients/{jiwoo.pk}/", {"medical_flags": [{"condition": "pregnancy"}]}
    )

    assert response.status_code == 200, response.content
    assert [f["condition"] for f in response.json()["medical_flags"]] == ["pregnancy"]
    fish.refresh_from_db()
    assert fish.resolved_at is not None
    assert fish.history.latest().history_user == staff_user
    pregnancy = MedicalFlag.objects.get(patient=jiwoo, condition__slug="pregnancy")
    assert (pregnancy.resolved_at, pregnancy.recorded_by) == (None, staff_user)
    shown = staff_api.get(f"{API}/patients/{jiwoo.pk}/").json()["medical_flags"]
    assert [f["condition"] for f in shown] == ["pregnancy"]


def test_an_empty_flag_list_resolves_every_flag(staff_api: APIClient, jiwoo: Patient) -> None:
    response = staff_api.patch(f"{API}/patients/{jiwoo.pk}/", {"medical_flags": []})

    assert response.status_code == 200, response.content
    assert response.json()["medical_flags"] == []
    assert MedicalFlag.objects.filter(patient=jiwoo, resolved_at__isnull=False).count() == 1


def test_a_flag_listed_again_stays_the_same_record_with_the_new_note(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    fish = MedicalFlag.objects.get(patient=jiwoo)

    response = staff_api.patch(
        f"{API}/patients/{jiwoo.pk}/",
        {"medical_flags": [{"condition": "fish-allergy", "note": "confirmed by allergist"}]},
    )

    assert response.status_code == 200, response.content
    assert list(MedicalFlag.objects.filter(patient=jiwoo).values_list("pk", "note")) == [
        (fish.pk, "confirmed by allergist")
    ]


def test_a_resolved_condition_flagged_again_is_a_new_record(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    staff_api.patch(f"{API}/patients/{jiwoo.pk}/", {"medical_flags": []})

    response = staff_api.patch(
        f"{API}/patients/{jiwoo.pk}/", {"medical_flags": [{"condition": "fish-allergy"}]}
    )

    assert response.status_code == 200, response.content
    flags = MedicalFlag.objects.filter(patient=jiwoo).order_by("pk")
    assert [f.resolved_at is None for f in flags] == [False, True]
    assert [f["condition"] for f in response.json()["medical_flags"]] == ["fish-allergy"]


def test_delete_is_not_offered_and_the_patient_stays(staff_api: APIClient, jiwoo: Patient) -> None:
    response = staff_api.delete(f"{API}/patients/{jiwoo.pk}/")

    assert_errors(response, 405, (None, "method_not_allowed"))
    assert Patient.objects.filter(pk=jiwoo.pk).exists()


# --- Bad input --------------------------------------------------------------------------------

BAD_PATIENTS = [
    pytest.param({"date_of_birth": None}, [("date_of_birth", "null")], id="date-of-birth-null"),
    pytest.param({"date_of_birth": "21/07/1991"}, [("date_of_birth", "invalid")], id="bad-date"),
    pytest.param({"email": "jiwoo-at-example"}, [("email", "invalid")], id="invalid-email"),
    pytest.param({"family_name": ""}, [("family_name", "blank")], id="blank-name"),
    pytest.param(
        {"preferred_language": "ja"}, [("preferred_language", "invalid_choice")], id="language"
    ),
    pytest.param(
        {
            "concerns": [
                {"concern": "acne-scars", "area": "cheeks"},
                {"concern": "acne-scars", "area": "cheeks", "severity": 3},
            ]
        },
        [("concerns", "duplicate")],
        id="duplicate-concern-same-area",
    ),
    pytest.param(
        {"concerns": [{"concern": "acne-scars"}, {"concern": "acne-scars", "area": "full_face"}]},
        [("concerns", "duplicate")],
        id="duplicate-concern-default-area",
    ),
    pytest.param(
        {"medical_flags": [{"condition": "pregnancy"}, {"condition": "pregnancy"}]},
        [("medical_flags", "duplicate")],
        id="duplicate-flag",
    ),
    pytest.param(
        {"email": "nope", "date_of_birth": "", "reminder_channel": "pigeon"},
        [
            ("email", "invalid"),
            ("date_of_birth", "invalid"),
            ("reminder_channel", "invalid_choice"),
        ],
        id="several-fields",
    ),
]


@pytest.mark.parametrize(("changes", "errors"), BAD_PATIENTS)
def test_bad_input_for_a_new_patient_is_refused_naming_the_fields_and_nothing_is_saved(
    staff_api: APIClient, changes: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    response = staff_api.post(f"{API}/patients/", new_patient(**changes))

    assert_errors(response, 400, *errors)
    assert records() == {"patients": [], "concerns": [], "flags": []}


@pytest.mark.parametrize(("changes", "errors"), BAD_PATIENTS)
def test_bad_input_for_a_change_is_refused_naming_the_fields_and_nothing_changes(
    staff_api: APIClient, jiwoo: Patient, changes: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    before = records()

    response = staff_api.patch(
        f"{API}/patients/{jiwoo.pk}/", {"notes": "should not be saved", **changes}
    )

    assert_errors(response, 400, *errors)
    assert records() == before


def test_a_missing_date_of_birth_is_named(staff_api: APIClient) -> None:
    body = new_patient()
    del body["date_of_birth"]

    response = staff_api.post(f"{API}/patients/", body)

    [error] = assert_errors(response, 400, ("date_of_birth", "required"))
    assert error["message"] == "This field is required."
    assert not Patient.objects.exists()


def test_a_duplicate_concern_is_explained(staff_api: APIClient) -> None:
    response = staff_api.post(
        f"{API}/patients/",
        new_patient(concerns=[{"concern": "dullness"}, {"concern": "dullness"}]),
    )

    [error] = assert_errors(response, 400, ("concerns", "duplicate"))
    assert error["message"] == "A concern is listed twice for the same area."


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param(
            {"phone": "010-1234-5678", "email": "mina.kang@example.com"},
            "phone",
            "Park Jiwoo already has this phone number.",
            id="the same phone written the Korean way",
        ),
        pytest.param(
            {"email": "JIWOO.PARK@example.com"},
            "email",
            "Park Jiwoo already has this email address.",
            id="the same email in capitals",
        ),
    ],
)
def test_a_phone_or_email_another_patient_has_is_refused_naming_that_patient(
    staff_api: APIClient, jiwoo: Patient, changes: dict[str, str], field: str, message: str
) -> None:
    jiwoo.email = "jiwoo.park@example.com"
    jiwoo.save(update_fields=["email"])
    before = records()

    response = staff_api.post(
        f"{API}/patients/", new_patient(family_name="Kang", given_name="Mina", **changes)
    )

    [error] = assert_errors(response, 400, (field, "duplicate"))
    assert error["message"] == message
    assert records() == before


def test_a_patient_keeps_their_own_phone_and_email_when_their_record_changes(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    response = staff_api.patch(
        f"{API}/patients/{jiwoo.pk}/", {"phone": jiwoo.phone, "email": jiwoo.email}
    )

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("changes", "field_start", "field_end", "code"),
    [
        ({"medical_flags": [{"condition": "vampirism"}]}, "medical_flags", "condition", None),
        ({"concerns": [{"concern": "wrinkles"}]}, "concerns", "concern", None),
        ({"concerns": [{"concern": "dullness", "severity": 4}]}, "concerns", "severity", "c"),
        ({"concerns": [{"concern": "dullness", "area": "knees"}]}, "concerns", "area", "c"),
    ],
    ids=["unknown-condition", "unknown-concern", "severity-4", "unknown-area"],
)
def test_a_bad_nested_item_is_refused_naming_the_item_and_nothing_is_saved(
    staff_api: APIClient, changes: dict[str, Any], field_start: str, field_end: str, code: Any
) -> None:
    response = staff_api.post(f"{API}/patients/", new_patient(**changes))

    expected_code = "invalid_choice" if code else "does_not_exist"
    [error] = assert_errors(response, 400, (response.json()["errors"][0]["field"], expected_code))
    assert error["field"].startswith(field_start)
    assert error["field"].endswith(f".{field_end}")
    assert "0" in error["field"]
    assert not Patient.objects.exists()


def test_an_unknown_condition_is_named_by_its_position_in_the_list(staff_api: APIClient) -> None:
    response = staff_api.post(
        f"{API}/patients/",
        new_patient(medical_flags=[{"condition": "pregnancy"}, {"condition": "vampirism"}]),
    )

    assert_errors(response, 400, ("medical_flags[1].condition", "does_not_exist"))


# --- Suggestions ------------------------------------------------------------------------------


def suggestions(client: APIClient, patient: Patient) -> list[dict[str, Any]]:
    response = client.get(f"{API}/suggestions/", {"patient": patient.pk})
    assert response.status_code == 200, response.content
    return response.json()


def test_thinning_skin_and_redness_are_offered_rejuran_first_with_the_reasons(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    MedicalFlag.objects.filter(patient=jiwoo).delete()

    offered = suggestions(staff_api, jiwoo)

    assert [s["treatment"]["slug"] for s in offered] == ["rejuran-healer", "prp"]
    rejuran = offered[0]
    assert list(rejuran) == [
        "treatment",
        "score",
        "reason",
        "reasons",
        "warnings",
        "contraindicated_by",
        "notes",
        "default_protocol",
    ]
    assert rejuran["score"] == 5 * 3 + 5 * 2
    assert rejuran["reason"] == (
        "Thinning skin (under the eyes, neck), Redness and sensitivity → Rejuran Healer: "
        "Cell regeneration and anti-inflammation"
    )
    assert rejuran["reasons"] == [
        "Thinning skin (under the eyes, neck) (under the eyes, severe): indication strength 5/5",
        "Redness and sensitivity (cheeks, moderate): indication strength 5/5",
    ]
    assert (rejuran["warnings"], rejuran["contraindicated_by"], rejuran["notes"]) == ([], [], [])
    assert rejuran["treatment"] == {
        "slug": "rejuran-healer",
        "name": "Rejuran Healer",
        "name_ko": "리쥬란 힐러",
        "primary_effect": "Cell regeneration and anti-inflammation",
        "primary_effect_ko": "세포 재생과 항염 효과",
        "long_term_benefit": "high",
    }
    assert rejuran["default_protocol"]["name"] == "Standard course"
    assert len(rejuran["default_protocol"]["milestones"]) == 2
    assert offered[1]["score"] == 3 * 3
    assert offered[1]["reasons"] == [
        "Thinning skin (under the eyes, neck) (under the eyes, severe): indication strength 3/5"
    ]


def test_suggestions_answer_in_the_requests_language(staff_api: APIClient, jiwoo: Patient) -> None:
    response = staff_api.get(
        f"{API}/suggestions/", {"patient": jiwoo.pk}, headers={"accept-language": "ko"}
    )

    rejuran = next(s for s in response.json() if s["treatment"]["slug"] == "rejuran-healer")
    assert rejuran["reason"] == (
        "얇아진 피부 (눈밑, 목), 붉은기와 민감성 → 리쥬란 힐러: 세포 재생과 항염 효과"
    )
    [warning] = rejuran["warnings"]
    assert "생선(연어) 알레르기" in warning


def test_suggestions_carry_soft_notes_that_do_not_change_the_order(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    MedicalFlag.objects.filter(patient=jiwoo).delete()
    Patient.objects.filter(pk=jiwoo.pk).update(date_of_birth="1950-01-01")
    concern(jiwoo, "post-procedure-recovery", severity=1)

    offered = suggestions(staff_api, jiwoo)

    assert [s["treatment"]["slug"] for s in offered] == ["rejuran-healer", "prp"]
    [age_note, recovery] = offered[0]["notes"]
    assert age_note.startswith("Usually for ages 25–59; this patient is 7")
    assert recovery == "Suits recovery after a recent laser or microneedling."
    assert offered[1]["notes"] == ["Suits recovery after a recent laser or microneedling."]


def test_a_contraindicated_treatment_is_offered_last_with_the_warning(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    offered = suggestions(staff_api, jiwoo)  # jiwoo has a fish allergy

    assert [s["treatment"]["slug"] for s in offered] == ["prp", "rejuran-healer"]
    assert offered[0]["warnings"] == []
    assert offered[1]["warnings"] == [
        "Contraindicated: Fish or salmon allergy (recorded for this patient)"
    ]
    assert [c["slug"] for c in offered[1]["contraindicated_by"]] == ["fish-allergy"]
    assert offered[1]["score"] > offered[0]["score"]  # ranked last despite the better score


def test_a_resolved_flag_no_longer_warns(staff_api: APIClient, jiwoo: Patient) -> None:
    MedicalFlag.objects.filter(patient=jiwoo).update(resolved_at=timezone.now())

    offered = suggestions(staff_api, jiwoo)

    assert offered[0]["treatment"]["slug"] == "rejuran-healer"
    assert all(s["warnings"] == [] for s in offered)


def test_a_treatment_no_longer_offered_is_not_suggested(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    Treatment.objects.filter(slug="prp").update(is_active=False)

    assert [s["treatment"]["slug"] for s in suggestions(staff_api, jiwoo)] == ["rejuran-healer"]


def test_a_patient_without_concerns_gets_no_suggestions(staff_api: APIClient) -> None:
    assert suggestions(staff_api, PatientFactory(user=None)) == []


@pytest.mark.parametrize(
    "query",
    [{}, {"patient": ""}, {"patient": "abc"}, {"patient": "-3"}, {"patient": "1.5"}],
    ids=["missing", "empty", "letters", "negative", "decimal"],
)
def test_suggestions_need_a_patient_id(staff_api: APIClient, query: dict[str, str]) -> None:
    response = staff_api.get(f"{API}/suggestions/", query)

    [error] = assert_errors(response, 400, ("patient", "invalid"))
    assert error["message"] == "Give the patient's id."


def test_a_superscript_digit_is_not_a_patient_id(staff_api: APIClient) -> None:
    staff_api.raise_request_exception = False

    response = staff_api.get(f"{API}/suggestions/", {"patient": "²"})

    assert_errors(response, 400, ("patient", "invalid"))


@pytest.mark.parametrize("patient_id", ["999999", "99999999999999999999"])
def test_suggestions_for_an_unknown_patient_are_not_found(
    staff_api: APIClient, patient_id: str
) -> None:
    response = staff_api.get(f"{API}/suggestions/", {"patient": patient_id})

    assert_errors(response, 404, (None, "not_found"))


# --- Queries ----------------------------------------------------------------------------------


def add_patients(count: int) -> None:
    """Patients each with two concerns and an open medical flag (and a resolved one)."""
    thinning, redness = SkinConcern.objects.filter(
        slug__in=["thinning-skin", "redness-sensitivity"]
    ).order_by("slug")
    fish, pregnancy = Contraindication.objects.filter(
        slug__in=["fish-allergy", "pregnancy"]
    ).order_by("slug")
    patients = Patient.objects.bulk_create(
        Patient(family_name=f"Family{n:03d}", given_name="Given", date_of_birth="1990-01-01")
        for n in range(count)
    )
    PatientConcern.objects.bulk_create(
        PatientConcern(patient=p, concern=c, severity=2)
        for p in patients
        for c in (thinning, redness)
    )
    MedicalFlag.objects.bulk_create(
        [MedicalFlag(patient=p, condition=fish) for p in patients]
        + [
            MedicalFlag(patient=p, condition=pregnancy, resolved_at=timezone.now())
            for p in patients
        ]
    )


# role lookup, count, patients, concerns (with their concern), open flags (with the condition),
# the access log (one INSERT for the page's patients)
PATIENT_LIST_QUERIES = 6


@pytest.mark.parametrize("rows", [10, 200])
def test_the_patient_list_takes_the_same_queries_for_10_or_200_patients(
    staff_api: APIClient, rows: int, django_assert_num_queries: Callable[..., Any]
) -> None:
    add_patients(rows)

    with django_assert_num_queries(PATIENT_LIST_QUERIES):
        response = staff_api.get(f"{API}/patients/?page_size=200")

    results = response.json()["results"]
    assert len(results) == rows
    assert all(len(p["concerns"]) == 2 and len(p["medical_flags"]) == 1 for p in results)


def test_suggestions_take_the_same_queries_however_many_treatments_match(
    staff_api: APIClient, jiwoo: Patient
) -> None:
    url = f"{API}/suggestions/?patient={jiwoo.pk}"
    staff_api.get(url)  # the user's roles are looked up once, then cached on the user
    with CaptureQueriesContext(connection) as few:
        staff_api.get(url)
    add_treatments(20, concerns=("thinning-skin",))

    with CaptureQueriesContext(connection) as many:
        response = staff_api.get(url)

    assert len(response.json()) == 22
    assert len(many) == len(few)
