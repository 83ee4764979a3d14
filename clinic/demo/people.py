"""Who works at the demo clinic and who comes to it: staff accounts, rooms and patient records.

Patients are saved through ``patients.services.patient_save`` so their concerns and medical flags
keep their history like any record staff create. Only two patients have a portal login; most
clinic patients never use the portal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User

from clinic.roles import Role
from patients.models import FaceArea, Language, Patient, ReminderChannel, Severity
from patients.services import patient_save
from scheduling.models import Practitioner, Room
from treatments.models import Contraindication, SkinConcern, Treatment

KO, EN = Language.KOREAN, Language.ENGLISH
SMS, EMAIL = ReminderChannel.SMS, ReminderChannel.EMAIL
REJURAN, BOOSTERS, PRP = "rejuran-healer", "skinboosters", "prp"
COMBO = "combo"  # Rejuran Healer and Skinboosters back to back, a popular pairing


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    password: str
    name: str


ADMIN_PASSWORD, STAFF_PASSWORD, PATIENT_PASSWORD = (
    "admin-demo-pass",
    "staff-demo-pass",
    "patient-demo-pass",
)


@dataclass(frozen=True)
class DemoPractitioner:
    username: str
    given: str
    family: str
    display_name: str
    title: str
    room: str
    performs: tuple[str, ...]  # treatment slugs; empty: every treatment
    today: int  # sessions wanted today (the first open day from today)
    per_day: int = 2  # sessions wanted on each later day of the coming week


PRACTITIONERS = [
    DemoPractitioner(
        "drkim", "Seo-yeon", "Kim", "Dr. Kim Seo-yeon", "Dermatologist", "Room 1", (), 4
    ),
    DemoPractitioner(
        "drchoi", "Ha-eun", "Choi", "Dr. Choi Ha-eun", "Dermatologist", "Room 2", (), 4
    ),
    DemoPractitioner(
        "drjung",
        "Da-som",
        "Jung",
        "Dr. Jung Da-som",
        "Aesthetic physician",
        "Room 3",
        (BOOSTERS, PRP),
        3,
    ),
]
ROOMS = ["Room 1", "Room 2", "Room 3"]


@dataclass(frozen=True)
class DemoPatient:
    family: str
    given: str
    age: int
    treatment: str  # a treatment slug, or COMBO
    practitioner: str  # username
    language: str = KO
    channel: str = SMS
    flags: tuple[tuple[str, str], ...] = ()  # open medical flags: (contraindication slug, note)
    story: str = ""  # a fixed part in the demo (see courses.py); blank: a visit this week
    notes: str = ""
    override: str = ""  # why a contraindicated course is booked all the same
    username: str = ""  # portal login
    resolved: tuple[tuple[str, str], ...] = ()  # flags recorded once that no longer apply
    mail: str = ""  # blank: made from the name

    @property
    def email(self) -> str:
        given = self.given.replace("-", "").replace(" ", "").lower()
        return self.mail or f"{given}.{self.family.lower()}@example.com"


JIWOO = DemoPatient(
    "Lee", "Ji-woo", 35, REJURAN, "drkim", story="jiwoo", username="jiwoo", mail="jiwoo@example.com"
)
EMMA = DemoPatient(
    "Clarke",
    "Emma",
    40,
    BOOSTERS,
    "drjung",
    language=EN,
    channel=EMAIL,
    flags=(("fish-allergy", "Hives after eating salmon."),),
    story="emma",
    username="emma",
    mail="emma@example.com",
)

# Every name is made up. Most patients are Korean and prefer Korean; a few expatriates prefer
# English. Each has one practitioner, as patients of a clinic usually do.
PATIENTS = [
    JIWOO,
    EMMA,
    # Fixed parts: attention needed, maintenance due, a cancelled course, ...
    DemoPatient("Song", "Ye-jin", 32, REJURAN, "drchoi", story="no_show",
                notes="Works shifts; confirm by text the day before."),
    DemoPatient("Seo", "Eun-bi", 33, REJURAN, "drkim", story="pregnant"),
    DemoPatient("Ahn", "Mi-kyung", 52, REJURAN, "drkim", story="overdue"),
    DemoPatient("Nam", "Hye-jin", 46, BOOSTERS, "drjung", story="due_soon"),
    DemoPatient("Cho", "Yeon-hee", 49, REJURAN, "drkim", story="long_term",
                notes="Regular since her first course; prefers mornings."),
    DemoPatient("Moon", "Ga-eun", 28, REJURAN, "drchoi", story="recent"),
    DemoPatient("Ryu", "Hye-rin", 34, REJURAN, "drkim", story="recent"),
    DemoPatient("Noh", "Eun-seo", 30, BOOSTERS, "drjung", story="recent"),
    DemoPatient("Heo", "Jae-won", 41, PRP, "drjung", story="later"),
    DemoPatient("Kwon", "So-yeon", 37, REJURAN, "drchoi", story="maintenance_cancelled",
                notes="Travels often for work."),
    # A visit in the coming days.
    DemoPatient("Kim", "Min-seo", 31, REJURAN, "drkim"),
    DemoPatient("Park", "Ji-min", 29, REJURAN, "drchoi"),
    DemoPatient("Choi", "Yu-jin", 38, COMBO, "drkim"),
    DemoPatient("Kang", "Bo-ra", 44, REJURAN, "drchoi",
                flags=(("hyaluronic-acid-allergy", "Swelling after a lip filler in 2021."),)),
    DemoPatient("Yoon", "Seo-hyun", 36, BOOSTERS, "drjung",
                flags=(("fish-allergy", "Salmon and shellfish: hives."),)),
    DemoPatient("Hwang", "Mi-ran", 55, PRP, "drjung",
                flags=(("anticoagulants", "Low-dose aspirin since a stent in 2022."),),
                override="Cardiologist agreed to pause aspirin for 7 days before each session "
                "(letter on file)."),
    DemoPatient("Jang", "Da-eun", 27, BOOSTERS, "drjung"),
    DemoPatient("Lim", "Su-bin", 32, REJURAN, "drkim"),
    DemoPatient("Han", "Eun-ji", 40, REJURAN, "drchoi"),
    DemoPatient("Oh", "Na-rae", 50, REJURAN, "drkim",
                flags=(("anticoagulants", "Warfarin for atrial fibrillation; bruises easily."),)),
    DemoPatient("Shin", "Hyun-woo", 35, PRP, "drchoi", channel=EMAIL),
    DemoPatient("Yoo", "Chae-won", 30, COMBO, "drchoi"),
    DemoPatient("Baek", "Soo-jin", 39, REJURAN, "drkim", notes="Back after her second baby.",
                resolved=(("pregnancy", "Second baby due in spring."),)),
    DemoPatient("Martin", "Sophie", 42, BOOSTERS, "drjung", language=EN, channel=EMAIL),
    DemoPatient("Nguyen", "Thi Lan", 33, REJURAN, "drchoi"),
    DemoPatient("Jeon", "Hae-won", 45, COMBO, "drkim"),
    DemoPatient("Ko", "Seung-hee", 53, BOOSTERS, "drjung"),
    DemoPatient("Yang", "Ji-hye", 36, PRP, "drkim"),
    DemoPatient("Son", "Min-ji", 29, REJURAN, "drchoi"),
    DemoPatient("Bae", "Young-mi", 57, REJURAN, "drkim", channel=EMAIL),
    DemoPatient("Tanaka", "Yuki", 34, REJURAN, "drchoi", language=EN, channel=EMAIL),
    DemoPatient("Lee", "Jung-hwa", 51, PRP, "drjung"),
    DemoPatient("Choi", "Ji-hoon", 38, REJURAN, "drkim"),
    DemoPatient("Brown", "Olivia", 31, BOOSTERS, "drchoi", language=EN, channel=EMAIL),
    DemoPatient("Kang", "Soo-ah", 43, REJURAN, "drchoi"),
    DemoPatient("Jung", "Yoon-ah", 35, COMBO, "drkim"),
    DemoPatient("Park", "Sun-hee", 48, COMBO, "drchoi"),
    DemoPatient("Kim", "Ha-neul", 26, BOOSTERS, "drjung"),
    DemoPatient("Lee", "Soo-min", 33, BOOSTERS, "drjung"),
    DemoPatient("Park", "Hye-won", 47, PRP, "drjung"),
    DemoPatient("Chen", "Mei", 39, BOOSTERS, "drjung", language=EN, channel=EMAIL),
    DemoPatient("Seong", "Ji-a", 28, BOOSTERS, "drjung"),
    DemoPatient("Kwak", "Min-hee", 44, PRP, "drjung"),
]  # fmt: skip

ACCOUNTS = [
    DemoAccount("clinic admin", "admin", ADMIN_PASSWORD, "Park Min-jun"),
    DemoAccount("staff, practitioner", "drkim", STAFF_PASSWORD, "Dr. Kim Seo-yeon"),
    DemoAccount("staff, practitioner", "drchoi", STAFF_PASSWORD, "Dr. Choi Ha-eun"),
    DemoAccount("staff, practitioner", "drjung", STAFF_PASSWORD,
                "Dr. Jung Da-som, Skinboosters and PRP only"),
    DemoAccount("staff, reception", "reception", STAFF_PASSWORD, "Han Yu-na, front desk"),
    DemoAccount("patient", "jiwoo", PATIENT_PASSWORD, "Lee Ji-woo, mid-course"),
    DemoAccount("patient", "emma", PATIENT_PASSWORD,
                "Emma Clarke, fish allergy, in maintenance"),
]  # fmt: skip

# Where each concern usually shows, for patients whose concerns the demo picks.
CONCERN_AREAS: dict[str, list[str]] = {
    "fine-lines": [FaceArea.FULL_FACE, FaceArea.FOREHEAD, FaceArea.UNDER_EYES],
    "enlarged-pores": [FaceArea.CHEEKS, FaceArea.NOSE],
    "redness-sensitivity": [FaceArea.CHEEKS, FaceArea.FULL_FACE],
    "acne-scars": [FaceArea.CHEEKS, FaceArea.JAWLINE],
    "thinning-skin": [FaceArea.UNDER_EYES, FaceArea.NECK],
    "post-acne-pigmentation": [FaceArea.CHEEKS, FaceArea.JAWLINE],
    "loss-of-elasticity": [FaceArea.FULL_FACE, FaceArea.JAWLINE, FaceArea.NECK],
    "post-procedure-recovery": [FaceArea.FULL_FACE],
    "dehydration": [FaceArea.FULL_FACE, FaceArea.NECK, FaceArea.HANDS],
    "dullness": [FaceArea.FULL_FACE],
}
TREATMENT_CONCERNS: dict[str, list[str]] = {
    REJURAN: [
        "thinning-skin",
        "redness-sensitivity",
        "fine-lines",
        "enlarged-pores",
        "loss-of-elasticity",
        "post-procedure-recovery",
        "acne-scars",
    ],
    BOOSTERS: ["dehydration", "dullness", "fine-lines", "loss-of-elasticity"],
    PRP: ["acne-scars", "thinning-skin", "dullness", "fine-lines"],
    COMBO: ["dehydration", "fine-lines", "thinning-skin", "loss-of-elasticity"],
}
# The two patients with logins keep the records they have always had in the demo.
FIXED_CONCERNS: dict[str, list[tuple[str, str, int]]] = {
    JIWOO.email: [
        ("thinning-skin", FaceArea.UNDER_EYES, Severity.MODERATE),
        ("redness-sensitivity", FaceArea.CHEEKS, Severity.MILD),
    ],
    EMMA.email: [
        ("fine-lines", FaceArea.FULL_FACE, Severity.MODERATE),
        ("dehydration", FaceArea.FULL_FACE, Severity.MILD),
    ],
}
FIXED_DETAILS: dict[str, tuple[date, str]] = {
    JIWOO.email: (date(1991, 5, 14), "+82 10-1234-5678"),
    EMMA.email: (date(1986, 11, 2), "+82 10-9876-5432"),
}


@dataclass
class Staff:
    admin: User
    reception: User
    practitioners: dict[str, Practitioner]  # by username
    rooms: dict[str, Room]  # by practitioner username: each works in their own room


def _user(
    account: DemoAccount, role: Role, *, password_hash: str, is_staff: bool, name: tuple[str, str]
) -> User:
    first, last = name
    user, _ = User.objects.get_or_create(
        username=account.username,
        defaults={"first_name": first, "last_name": last, "is_staff": is_staff},
    )
    user.password = password_hash
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    user.groups.add(Group.objects.get(name=role.value))
    return user


def accounts_ensure() -> Staff:
    """Create the staff and patient logins that are missing, reset every demo password, and
    make sure each practitioner has a room. Needs the seed to have run."""
    # One hash per password, shared by the accounts that use it: hashing is slow by design, and
    # these passwords are printed on the console anyway.
    hashes = {password: make_password(password) for password in {a.password for a in ACCOUNTS}}
    accounts = {account.username: account for account in ACCOUNTS}

    def login(username: str, role: Role, name: tuple[str, str], *, is_staff: bool) -> User:
        account = accounts[username]
        return _user(
            account, role, password_hash=hashes[account.password], is_staff=is_staff, name=name
        )

    admin = login("admin", Role.CLINIC_ADMIN, ("Min-jun", "Park"), is_staff=True)
    reception = login("reception", Role.STAFF, ("Yu-na", "Han"), is_staff=True)
    treatments = {t.slug: t for t in Treatment.objects.filter(is_active=True)}
    rooms = {name: Room.objects.get_or_create(name=name)[0] for name in ROOMS}
    practitioners = {}
    for person in PRACTITIONERS:
        user = login(person.username, Role.STAFF, (person.given, person.family), is_staff=True)
        practitioner, created = Practitioner.objects.get_or_create(
            user=user, defaults={"display_name": person.display_name, "title": person.title}
        )
        if created:  # an admin's later changes to what someone performs are kept
            practitioner.treatments.set(
                [
                    t
                    for slug, t in treatments.items()
                    if not person.performs or slug in person.performs
                ]
            )
        practitioners[person.username] = practitioner
    for patient in PATIENTS:
        if patient.username:
            login(patient.username, Role.PATIENT, (patient.given, patient.family), is_staff=False)
    return Staff(
        admin=admin,
        reception=reception,
        practitioners=practitioners,
        rooms={p.username: rooms[p.room] for p in PRACTITIONERS},
    )


def _phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        phone = f"+82 10-{rng.randint(2000, 9999)}-{rng.randint(0, 9999):04d}"
        if phone not in taken:
            taken.add(phone)
            return phone


def _concerns(
    person: DemoPatient, rng: random.Random, catalogue: dict[str, SkinConcern]
) -> list[dict[str, object]]:
    if person.email in FIXED_CONCERNS:
        chosen = FIXED_CONCERNS[person.email]
    else:
        count = rng.choices([1, 2, 3], weights=[3, 5, 2])[0]
        slugs = rng.sample(TREATMENT_CONCERNS[person.treatment], count)
        chosen = [
            (
                slug,
                rng.choice(CONCERN_AREAS[slug]),
                rng.choice([Severity.MILD, Severity.MODERATE, Severity.MODERATE, Severity.SEVERE]),
            )
            for slug in slugs
        ]
    return [
        {"concern": catalogue[slug], "area": area, "severity": severity}
        for slug, area, severity in chosen
    ]


def patients_create(*, staff: Staff, rng: random.Random, today: date) -> dict[str, Patient]:
    """Every demo patient, by email. Records that already exist (the patients with a login, from
    an earlier version of the demo) are updated, not duplicated."""
    catalogue = {c.slug: c for c in SkinConcern.objects.all()}
    conditions = {c.slug: c for c in Contraindication.objects.all()}
    phones = {phone for _, phone in FIXED_DETAILS.values()}
    by_email = {p.email: p for p in Patient.objects.filter(email__in=[p.email for p in PATIENTS])}
    patients = {}
    for person in PATIENTS:
        born, phone = FIXED_DETAILS.get(person.email) or (
            today - timedelta(days=365 * person.age + rng.randint(0, 364)),
            _phone(rng, phones),
        )
        user = User.objects.get(username=person.username) if person.username else None
        existing = Patient.objects.filter(user=user).first() if user else None
        patient = existing or by_email.get(person.email)
        fields = {
            "user": user,
            "family_name": person.family,
            "given_name": person.given,
            "date_of_birth": born,
            "phone": phone,
            "email": person.email,
            "preferred_language": person.language,
            "reminder_channel": person.channel,
            "notes": person.notes,
        }
        if person.resolved and patient is None:
            # Recorded at an earlier visit; the save below, without it, marks it resolved.
            patient = patient_save(
                fields=fields,
                changed_by=staff.reception,
                flags=[(conditions[slug], note) for slug, note in person.resolved],
            )
        patients[person.email] = patient_save(
            patient=patient,
            fields=fields,
            changed_by=staff.reception,
            concerns=_concerns(person, rng, catalogue),
            flags=[(conditions[slug], note) for slug, note in person.flags],
        )
    return patients
