"""The treatment catalogue over HTTP: anyone logged in reads it, only clinic admins change it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.api.helpers import (
    API,
    CLIENTS,
    ERROR_CODES,
    NOT_LOGGED_IN,
    access_cases,
    assert_errors,
    assert_not_logged_in,
    bearer_client,
)
from tests.helpers import add_treatments, snapshot
from treatments.models import Indication, ProtocolTemplate, SkinConcern, Treatment

pytestmark = pytest.mark.django_db

REJURAN = f"{API}/treatments/rejuran-healer/"


def new_treatment(**overrides: Any) -> dict[str, Any]:
    return {
        "slug": "lha-peel",
        "name": "LHA peel",
        "name_ko": "LHA 필링",
        "core_ingredient": "Lipohydroxy acid",
        "primary_effect": "Gentle exfoliation",
        "texture_change": "gradual",
        "long_term_benefit": "mild",
        "session_minutes": 30,
        "aftercare": "Avoid the sun for a week.",
        "indications": [
            {"concern": "enlarged-pores", "strength": 4},
            {"concern": "dullness", "strength": 3},
        ],
        "contraindications": ["pregnancy", "active-skin-infection"],
        **overrides,
    }


def rejuran_in_full(**overrides: Any) -> dict[str, Any]:
    """A PUT body for Rejuran: every writable field, with the given changes."""
    return {
        "slug": "rejuran-healer",
        "name": "Rejuran Healer",
        "name_ko": "리쥬란 힐러",
        "core_ingredient": "Polynucleotides (PN, salmon DNA)",
        "primary_effect": "Cell regeneration and anti-inflammation",
        "texture_change": "moderate",
        "long_term_benefit": "high",
        "session_minutes": 45,
        **overrides,
    }


def catalogue_state() -> dict[str, list[dict[str, Any]]]:
    return {
        **snapshot(
            treatments=Treatment,
            indications=Indication,
            contraindications=Treatment.contraindications.through,
            concerns=SkinConcern,
            protocols=ProtocolTemplate,
        ),
        "history": list(Treatment.history.order_by("pk").values("history_id")),
    }


# --- Who may do what --------------------------------------------------------------------------

# Expected status per logged-in role; anonymous callers are always refused as not logged in
# (401 by contract, 403 today: see test_auth_and_errors).
EVERYONE_READS = {"patient": 200, "staff": 200, "clinic admin": 200}
NOBODY_MAY = {"patient": 405, "staff": 405, "clinic admin": 405}


def only_clinic_admins(status: int) -> dict[str, int]:
    return {"patient": 403, "staff": 403, "clinic admin": status}


REJURAN_PUT = rejuran_in_full(session_minutes=50)
REJURAN_PATCH = {"session_minutes": 50, "indications": [{"concern": "acne-scars", "strength": 2}]}
CATALOGUE_ACCESS: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("get", "/treatments/", None, EVERYONE_READS),
    ("get", "/treatments/rejuran-healer/", None, EVERYONE_READS),
    ("post", "/treatments/", new_treatment(), only_clinic_admins(201)),
    ("put", "/treatments/rejuran-healer/", REJURAN_PUT, only_clinic_admins(200)),
    ("patch", "/treatments/rejuran-healer/", REJURAN_PATCH, only_clinic_admins(200)),
    ("delete", "/treatments/rejuran-healer/", None, only_clinic_admins(405)),
    ("get", "/concerns/", None, EVERYONE_READS),
    ("get", "/concerns/thinning-skin/", None, EVERYONE_READS),
    ("post", "/concerns/", {"slug": "new", "name": "New"}, NOBODY_MAY),
    ("put", "/concerns/thinning-skin/", {"slug": "thinning-skin", "name": "Thin"}, NOBODY_MAY),
    ("patch", "/concerns/thinning-skin/", {"name": "Thin"}, NOBODY_MAY),
    ("delete", "/concerns/thinning-skin/", None, NOBODY_MAY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "status"), access_cases(CATALOGUE_ACCESS)
)
def test_each_role_may_do_exactly_what_the_catalogue_allows(
    request: pytest.FixtureRequest,
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int | str,
) -> None:
    client: APIClient = request.getfixturevalue(CLIENTS[role])
    before = catalogue_state()

    response = getattr(client, method)(f"{API}{path}", body)

    if status == NOT_LOGGED_IN:
        assert_not_logged_in(response)
    elif status in ERROR_CODES:
        items = assert_errors(response, status, (None, ERROR_CODES[status]))
        if status == 403:
            assert items[0]["message"] == "Only clinic admins can change the catalogue."
    else:
        assert response.status_code == status, response.content
    if response.status_code >= 400:
        assert catalogue_state() == before


# --- Reading the catalogue --------------------------------------------------------------------


def test_the_list_is_paginated_and_names_the_clinic_time_zone(patient_api: APIClient) -> None:
    body = patient_api.get(f"{API}/treatments/").json()

    assert list(body) == ["count", "next", "previous", "time_zone", "results"]
    assert body["count"] == 3
    assert (body["next"], body["previous"]) == (None, None)
    assert body["time_zone"] == "Asia/Seoul"
    assert [t["slug"] for t in body["results"]] == ["prp", "rejuran-healer", "skinboosters"]


def test_every_listed_treatment_carries_its_protocols_indications_and_contraindications(
    patient_api: APIClient,
) -> None:
    results = patient_api.get(f"{API}/treatments/").json()["results"]

    for treatment in results:
        assert len(treatment["protocols"]) == 1
        assert treatment["protocols"][0]["is_default"] is True
        assert "milestones" in treatment["protocols"][0]
        assert treatment["indications"]
        assert all(
            set(i) == {"concern", "concern_name", "strength"} for i in treatment["indications"]
        )
        assert "pregnancy" in treatment["contraindications"]


def test_rejuran_reads_as_the_clinic_describes_it(patient_api: APIClient) -> None:
    rejuran = patient_api.get(REJURAN).json()

    assert rejuran["name"] == "Rejuran Healer"
    assert rejuran["name_ko"] == "리쥬란 힐러"
    assert rejuran["core_ingredient"] == "Polynucleotides (PN, salmon DNA)"
    assert (rejuran["texture_change"], rejuran["long_term_benefit"]) == ("moderate", "high")
    assert rejuran["session_minutes"] == 45
    assert rejuran["is_active"] is True
    assert rejuran["aftercare"].startswith("Mild swelling or redness for 1–2 days is normal")
    assert rejuran["aftercare_ko"].startswith("1~2일간 가벼운 붓기나 붉은기가")
    assert rejuran["contraindications"] == ["active-skin-infection", "fish-allergy", "pregnancy"]
    strengths = {i["concern"]: i["strength"] for i in rejuran["indications"]}
    assert strengths == {
        "thinning-skin": 5,
        "redness-sensitivity": 5,
        "post-procedure-recovery": 5,
        "fine-lines": 4,
        "loss-of-elasticity": 4,
        "enlarged-pores": 4,
        "acne-scars": 3,
        "post-acne-pigmentation": 3,
    }
    assert [i["strength"] for i in rejuran["indications"]] == [5, 5, 5, 4, 4, 4, 3, 3]
    thinning = next(i for i in rejuran["indications"] if i["concern"] == "thinning-skin")
    assert thinning["concern_name"] == "Thinning skin (under the eyes, neck)"
    [protocol] = rejuran["protocols"]
    assert {k: v for k, v in protocol.items() if k not in ("id", "notes", "milestones")} == {
        "name": "Standard course",
        "is_default": True,
        "initial_sessions_min": 3,
        "initial_sessions_default": 3,
        "initial_sessions_max": 4,
        "interval_days_min": 21,
        "interval_days_default": 28,
        "interval_days_max": 28,
        "maintenance_interval_months": 6,
        "needs_review": False,
    }
    assert protocol["milestones"] == [
        {
            "description": "First visible change: hydration and glow",
            "description_ko": "첫 변화: 수분감과 광채",
            "after_session": 2,
            "months_from_start_min": None,
            "months_from_start_max": None,
        },
        {
            "description": "Full strengthening effect",
            "description_ko": "피부 강화 효과 완성",
            "after_session": None,
            "months_from_start_min": 2,
            "months_from_start_max": 3,
        },
    ]


def test_the_shipped_defaults_say_they_need_review(staff_api: APIClient) -> None:
    results = staff_api.get(f"{API}/treatments/").json()["results"]

    needs_review = {t["slug"]: t["protocols"][0]["needs_review"] for t in results}
    assert needs_review == {"prp": True, "rejuran-healer": False, "skinboosters": True}


def test_treatments_no_longer_offered_can_be_filtered_out(staff_api: APIClient) -> None:
    Treatment.objects.filter(slug="prp").update(is_active=False)

    offered = staff_api.get(f"{API}/treatments/?is_active=true").json()
    withdrawn = staff_api.get(f"{API}/treatments/?is_active=false").json()

    assert [t["slug"] for t in offered["results"]] == ["rejuran-healer", "skinboosters"]
    assert [t["slug"] for t in withdrawn["results"]] == ["prp"]


def test_an_unknown_treatment_is_not_found(staff_api: APIClient) -> None:
    assert_errors(staff_api.get(f"{API}/treatments/botox/"), 404, (None, "not_found"))


def test_concerns_list_every_seeded_concern_in_both_languages(patient_api: APIClient) -> None:
    body = patient_api.get(f"{API}/concerns/").json()

    assert body["count"] == 10
    assert body["time_zone"] == "Asia/Seoul"
    by_slug = {c["slug"]: c for c in body["results"]}
    assert by_slug["thinning-skin"] == {
        "slug": "thinning-skin",
        "name": "Thinning skin (under the eyes, neck)",
        "name_ko": "얇아진 피부 (눈밑, 목)",
        "description": "",
    }


def test_a_concern_is_read_by_its_slug(patient_api: APIClient) -> None:
    concern = patient_api.get(f"{API}/concerns/acne-scars/")

    assert concern.status_code == 200
    assert concern.json()["name_ko"] == "여드름 흉터"
    assert_errors(patient_api.get(f"{API}/concerns/wrinkles/"), 404, (None, "not_found"))


def test_a_page_size_is_honoured_up_to_200(staff_api: APIClient) -> None:
    SkinConcern.objects.bulk_create(
        SkinConcern(slug=f"extra-{n}", name=f"Extra concern {n:03d}") for n in range(200)
    )

    two = staff_api.get(f"{API}/concerns/?page_size=2").json()
    capped = staff_api.get(f"{API}/concerns/?page_size=500").json()

    assert len(two["results"]) == 2
    assert "page=2" in two["next"]
    assert capped["count"] == 210
    assert len(capped["results"]) == 200


# --- Changing the catalogue -------------------------------------------------------------------


def test_a_clinic_admin_adds_a_treatment_with_its_indications_and_contraindications(
    admin_api: APIClient, clinic_admin: User
) -> None:
    response = admin_api.post(f"{API}/treatments/", new_treatment())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "lha-peel"
    assert body["protocols"] == []
    assert body["indications"] == [
        {"concern": "enlarged-pores", "concern_name": "Enlarged pores", "strength": 4},
        {"concern": "dullness", "concern_name": "Dull, tired-looking skin", "strength": 3},
    ]
    assert sorted(body["contraindications"]) == ["active-skin-infection", "pregnancy"]
    peel = Treatment.objects.get(slug="lha-peel")
    assert {(i.concern.slug, i.strength) for i in peel.indications.all()} == {
        ("enlarged-pores", 4),
        ("dullness", 3),
    }
    assert {c.slug for c in peel.contraindications.all()} == {"active-skin-infection", "pregnancy"}
    assert peel.history.earliest().history_type == "+"
    assert peel.history.earliest().history_user == clinic_admin
    assert admin_api.get(f"{API}/treatments/lha-peel/").json() == body


def test_a_treatment_may_be_added_without_indications_or_contraindications(
    admin_api: APIClient,
) -> None:
    body = new_treatment()
    del body["indications"], body["contraindications"]

    response = admin_api.post(f"{API}/treatments/", body)

    assert response.status_code == 201, response.content
    assert (response.json()["indications"], response.json()["contraindications"]) == ([], [])


def test_put_replaces_the_treatment_and_its_indications(
    admin_api: APIClient, clinic_admin: User
) -> None:
    response = admin_api.put(
        REJURAN,
        rejuran_in_full(
            session_minutes=50,
            primary_effect="Repair",
            indications=[
                {"concern": "thinning-skin", "strength": 5},
                {"concern": "dehydration", "strength": 2},
            ],
            contraindications=["fish-allergy"],
        ),
    )

    assert response.status_code == 200, response.content
    rejuran = Treatment.objects.get(slug="rejuran-healer")
    assert (rejuran.session_minutes, rejuran.primary_effect) == (50, "Repair")
    assert {(i.concern.slug, i.strength) for i in rejuran.indications.all()} == {
        ("thinning-skin", 5),
        ("dehydration", 2),
    }
    assert [c.slug for c in rejuran.contraindications.all()] == ["fish-allergy"]
    assert [i["concern"] for i in response.json()["indications"]] == [
        "thinning-skin",
        "dehydration",
    ]
    assert rejuran.history.latest().history_user == clinic_admin
    assert rejuran.protocols.count() == 1  # protocols are edited in the admin only


def test_put_without_indications_leaves_them_as_they_are(admin_api: APIClient) -> None:
    before = list(Indication.objects.filter(treatment__slug="rejuran-healer").values_list("pk"))

    response = admin_api.put(REJURAN, rejuran_in_full(session_minutes=40))

    assert response.status_code == 200, response.content
    assert list(Indication.objects.filter(treatment__slug="rejuran-healer").values_list("pk")) == (
        before
    )


def test_patch_replaces_only_what_it_names(admin_api: APIClient, clinic_admin: User) -> None:
    response = admin_api.patch(REJURAN, {"indications": [{"concern": "acne-scars", "strength": 1}]})

    assert response.status_code == 200, response.content
    assert response.json()["indications"] == [
        {"concern": "acne-scars", "concern_name": "Acne scars", "strength": 1}
    ]
    rejuran = Treatment.objects.get(slug="rejuran-healer")
    assert rejuran.session_minutes == 45
    assert rejuran.contraindications.count() == 3
    assert rejuran.history.latest().history_user == clinic_admin


def test_patch_with_an_empty_list_clears_the_indications(admin_api: APIClient) -> None:
    response = admin_api.patch(REJURAN, {"indications": [], "contraindications": []})

    assert response.status_code == 200, response.content
    assert not Indication.objects.filter(treatment__slug="rejuran-healer").exists()
    assert not Treatment.objects.get(slug="rejuran-healer").contraindications.exists()


def test_withdrawing_a_treatment_keeps_it_in_the_catalogue(admin_api: APIClient) -> None:
    response = admin_api.patch(REJURAN, {"is_active": False})

    assert response.status_code == 200
    assert Treatment.objects.get(slug="rejuran-healer").is_active is False
    assert admin_api.get(REJURAN).json()["is_active"] is False


def test_each_change_is_in_the_history_with_the_admin_who_made_it(
    admin_api: APIClient, clinic_admin: User
) -> None:
    admin_api.patch(REJURAN, {"session_minutes": 50})
    admin_api.patch(REJURAN, {"session_minutes": 55})

    history = Treatment.objects.get(slug="rejuran-healer").history.order_by("-history_date")
    latest, previous = history[0], history[1]
    assert (latest.session_minutes, latest.history_user) == (55, clinic_admin)
    assert (previous.session_minutes, previous.history_user) == (50, clinic_admin)
    assert latest.history_type == "~"


def test_replaced_indications_are_in_the_history_with_the_admin_who_made_the_change(
    clinic_admin: User,
) -> None:
    from clinic.tokens import api_token_create

    _, raw = api_token_create(user=clinic_admin, name="Catalogue sync", created_by=None)

    bearer_client(raw).patch(REJURAN, {"indications": [{"concern": "dehydration", "strength": 2}]})

    added = Indication.history.filter(
        treatment__slug="rejuran-healer", concern__slug="dehydration", history_type="+"
    )
    assert [h.history_user for h in added] == [clinic_admin]


# --- Bad input --------------------------------------------------------------------------------

BAD_TREATMENTS = [
    pytest.param({"session_minutes": 2}, [("session_minutes", "min_value")], id="too-short"),
    pytest.param({"session_minutes": 481}, [("session_minutes", "max_value")], id="too-long"),
    pytest.param(
        {"texture_change": "instant"}, [("texture_change", "invalid_choice")], id="choice"
    ),
    pytest.param({"slug": "prp"}, [("slug", "unique")], id="slug-taken"),
    pytest.param({"name": "Rejuran Healer"}, [("name", "unique")], id="name-taken"),
    pytest.param({"slug": "not a slug"}, [("slug", "invalid")], id="slug-format"),
    pytest.param(
        {
            "indications": [
                {"concern": "acne-scars", "strength": 3},
                {"concern": "acne-scars", "strength": 5},
            ]
        },
        [("indications", "invalid")],
        id="duplicate-concern",
    ),
    pytest.param(
        {"contraindications": ["pregnancy", "vampirism"]},
        [("contraindications", "does_not_exist")],
        id="unknown-contraindication",
    ),
    pytest.param(
        {"indications": "thinning-skin"},
        [("indications", "not_a_list")],
        id="indications-not-a-list",
    ),
    pytest.param(
        {"session_minutes": 0, "long_term_benefit": "huge"},
        [("session_minutes", "min_value"), ("long_term_benefit", "invalid_choice")],
        id="two-fields",
    ),
]


@pytest.mark.parametrize(("changes", "errors"), BAD_TREATMENTS)
def test_bad_input_for_a_new_treatment_is_refused_naming_the_field_and_nothing_is_saved(
    admin_api: APIClient, changes: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    before = catalogue_state()

    response = admin_api.post(f"{API}/treatments/", new_treatment(**changes))

    assert_errors(response, 400, *errors)
    assert catalogue_state() == before


@pytest.mark.parametrize(("changes", "errors"), BAD_TREATMENTS)
def test_bad_input_for_a_change_is_refused_naming_the_field_and_nothing_changes(
    admin_api: APIClient, changes: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    before = catalogue_state()
    if "slug" in changes and changes["slug"] == "prp":
        changes = {"slug": "skinboosters"}
    if "name" in changes:
        changes = {"name": "PRP"}

    response = admin_api.patch(REJURAN, changes)

    assert_errors(response, 400, *errors)
    assert catalogue_state() == before


def test_a_duplicate_concern_is_explained(admin_api: APIClient) -> None:
    response = admin_api.patch(
        REJURAN,
        {"indications": [{"concern": "dullness", "strength": 2}, {"concern": "dullness"}]},
    )

    [error] = assert_errors(response, 400, ("indications", "invalid"))
    assert error["message"] == "Each concern can be listed once."


def test_a_required_field_left_out_is_named(admin_api: APIClient) -> None:
    body = new_treatment()
    del body["core_ingredient"], body["session_minutes"]

    response = admin_api.post(f"{API}/treatments/", body)

    assert_errors(response, 400, ("core_ingredient", "required"), ("session_minutes", "required"))
    assert not Treatment.objects.filter(slug="lha-peel").exists()


@pytest.mark.parametrize(
    ("indications", "code"),
    [
        ([{"concern": "wrinkles", "strength": 3}], "does_not_exist"),
        ([{"concern": "acne-scars", "strength": 9}], "max_value"),
        ([{"strength": 3}], "required"),
    ],
)
def test_a_bad_indication_is_refused_naming_the_indication_and_nothing_is_saved(
    admin_api: APIClient, indications: list[dict[str, Any]], code: str
) -> None:
    before = catalogue_state()

    response = admin_api.post(f"{API}/treatments/", new_treatment(indications=indications))

    [error] = assert_errors(response, 400, (error_field(response), code))
    assert error["field"].startswith("indications")
    assert error["field"].endswith(".concern" if code != "max_value" else ".strength")
    assert "0" in error["field"]
    assert catalogue_state() == before


def error_field(response: Any) -> str:
    return response.json()["errors"][0]["field"]


def test_a_bad_indication_is_named_by_its_position_in_the_list(admin_api: APIClient) -> None:
    response = admin_api.post(
        f"{API}/treatments/",
        new_treatment(
            indications=[
                {"concern": "acne-scars", "strength": 3},
                {"concern": "wrinkles", "strength": 3},
            ]
        ),
    )

    assert_errors(response, 400, ("indications[1].concern", "does_not_exist"))


def test_delete_is_not_offered_and_the_treatment_stays(admin_api: APIClient) -> None:
    response = admin_api.delete(REJURAN)

    [error] = assert_errors(response, 405, (None, "method_not_allowed"))
    assert error["message"] == 'Method "DELETE" not allowed.'
    assert "DELETE" not in response.headers["Allow"]
    assert Treatment.objects.filter(slug="rejuran-healer").exists()


# --- Queries ----------------------------------------------------------------------------------


# count, treatments, protocols, milestones, indications (with concerns), contraindications
TREATMENT_LIST_QUERIES = 6


@pytest.mark.parametrize("rows", [10, 200])
def test_the_treatment_list_takes_the_same_queries_for_10_or_200_treatments(
    staff_api: APIClient, rows: int, django_assert_num_queries: Callable[..., Any]
) -> None:
    add_treatments(rows - Treatment.objects.count())

    with django_assert_num_queries(TREATMENT_LIST_QUERIES):
        response = staff_api.get(f"{API}/treatments/?page_size=200")

    assert len(response.json()["results"]) == rows
    extra = [t for t in response.json()["results"] if t["slug"].startswith("extra-")]
    assert all(t["protocols"][0]["milestones"] and t["indications"] for t in extra)


CONCERN_LIST_QUERIES = 2  # count, concerns


@pytest.mark.parametrize("rows", [10, 200])
def test_the_concern_list_takes_the_same_queries_for_10_or_200_concerns(
    staff_api: APIClient, rows: int, django_assert_num_queries: Callable[..., Any]
) -> None:
    SkinConcern.objects.bulk_create(
        SkinConcern(slug=f"extra-{n}", name=f"Extra concern {n:03d}")
        for n in range(rows - SkinConcern.objects.count())
    )

    with django_assert_num_queries(CONCERN_LIST_QUERIES):
        response = staff_api.get(f"{API}/concerns/?page_size=200")

    assert len(response.json()["results"]) == rows
