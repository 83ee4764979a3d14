"""Demo accounts for the embedded default: an admin, a practitioner on staff and two patients.

Passwords are fixed and printed by ``manage.py demo`` so a first-time user can log in at once;
the command refuses to run with DEBUG off, so these never reach a production database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import Group, User
from django.db import transaction

from clinic.roles import Role
from patients.models import (
    FaceArea,
    Language,
    MedicalFlag,
    Patient,
    PatientConcern,
    ReminderChannel,
    Severity,
)
from scheduling.models import Practitioner, Room
from treatments.models import Contraindication, SkinConcern, Treatment


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    password: str
    name: str


ACCOUNTS = [
    DemoAccount("clinic admin", "admin", "admin-demo-pass", "Park Min-jun"),
    DemoAccount("staff, practitioner", "drkim", "staff-demo-pass", "Dr. Kim Seo-yeon"),
    DemoAccount("patient", "jiwoo", "patient-demo-pass", "Lee Ji-woo"),
    DemoAccount("patient", "emma", "patient-demo-pass", "Emma Clarke"),
]


def _user(account: DemoAccount, role: Role, *, is_staff: bool, first: str, last: str) -> User:
    user, _ = User.objects.get_or_create(
        username=account.username,
        defaults={"first_name": first, "last_name": last, "is_staff": is_staff},
    )
    user.set_password(account.password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    user.groups.add(Group.objects.get(name=role.value))
    return user


@transaction.atomic
def demo_data_create() -> list[DemoAccount]:
    """Create (or reset the passwords of) the demo accounts. Needs the seed to have run."""
    admin, staff, jiwoo, emma = ACCOUNTS
    _user(admin, Role.CLINIC_ADMIN, is_staff=True, first="Min-jun", last="Park")

    kim = _user(staff, Role.STAFF, is_staff=True, first="Seo-yeon", last="Kim")
    practitioner, _ = Practitioner.objects.get_or_create(
        user=kim, defaults={"display_name": staff.name, "title": "Dermatologist"}
    )
    practitioner.treatments.add(*Treatment.objects.filter(is_active=True))
    for name in ("Room 1", "Room 2"):
        Room.objects.get_or_create(name=name)

    concerns = {c.slug: c for c in SkinConcern.objects.all()}
    lee, _ = Patient.objects.get_or_create(
        user=_user(jiwoo, Role.PATIENT, is_staff=False, first="Ji-woo", last="Lee"),
        defaults={
            "family_name": "Lee",
            "given_name": "Ji-woo",
            "date_of_birth": date(1991, 5, 14),
            "phone": "+82 10-1234-5678",
            "email": "jiwoo@example.com",
            "preferred_language": Language.KOREAN,
            "reminder_channel": ReminderChannel.SMS,
        },
    )
    for slug, area, severity in (
        ("thinning-skin", FaceArea.UNDER_EYES, Severity.MODERATE),
        ("redness-sensitivity", FaceArea.CHEEKS, Severity.MILD),
    ):
        PatientConcern.objects.get_or_create(
            patient=lee, concern=concerns[slug], area=area, defaults={"severity": severity}
        )

    clarke, _ = Patient.objects.get_or_create(
        user=_user(emma, Role.PATIENT, is_staff=False, first="Emma", last="Clarke"),
        defaults={
            "family_name": "Clarke",
            "given_name": "Emma",
            "date_of_birth": date(1986, 11, 2),
            "phone": "+82 10-9876-5432",
            "email": "emma@example.com",
            "preferred_language": Language.ENGLISH,
            "reminder_channel": ReminderChannel.EMAIL,
        },
    )
    PatientConcern.objects.get_or_create(
        patient=clarke,
        concern=concerns["fine-lines"],
        area=FaceArea.FULL_FACE,
        defaults={"severity": Severity.MODERATE},
    )
    MedicalFlag.objects.get_or_create(
        patient=clarke,
        condition=Contraindication.objects.get(slug="fish-allergy"),
        resolved_at=None,
        defaults={"note": "Hives after eating salmon."},
    )
    return ACCOUNTS
