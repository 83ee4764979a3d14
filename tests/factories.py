"""factory_boy factories for the domain models. Catalogue rows come from the seed instead."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from patients.models import Language, Patient, ReminderChannel
from scheduling.models import Practitioner, Room, Session, SessionKind, TreatmentPlan
from treatments.models import ProtocolTemplate


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"patient{n}"))
    family_name = factory.Faker("last_name")
    given_name = factory.Faker("first_name")
    date_of_birth = date(1990, 3, 14)
    phone = factory.Sequence(lambda n: f"+82 10-5555-{n:04d}")
    email = factory.LazyAttribute(lambda p: f"{p.given_name.lower()}@example.com")
    preferred_language = Language.ENGLISH
    reminder_channel = ReminderChannel.EMAIL


class PractitionerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practitioner

    user = factory.SubFactory(
        UserFactory, username=factory.Sequence(lambda n: f"practitioner{n}"), is_staff=True
    )
    display_name = factory.LazyAttribute(lambda p: f"Dr. {p.user.last_name}")
    title = "Dermatologist"


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    name = factory.Sequence(lambda n: f"Room {n}")


class TreatmentPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentPlan

    patient = factory.SubFactory(PatientFactory)
    template = factory.LazyFunction(
        lambda: ProtocolTemplate.objects.get(treatment__slug="rejuran-healer", is_default=True)
    )
    practitioner = factory.SubFactory(PractitionerFactory)
    session_count = 3
    interval_days = 28
    first_session_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    booked_by = factory.SubFactory(UserFactory)


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    plan = factory.SubFactory(TreatmentPlanFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    kind = SessionKind.INITIAL
    starts_at = factory.LazyAttribute(lambda s: s.plan.first_session_at)
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + timedelta(minutes=45))
    practitioner = factory.LazyAttribute(lambda s: s.plan.practitioner)
    patient = factory.LazyAttribute(lambda s: s.plan.patient)
