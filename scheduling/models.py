"""Who works when, and the courses booked on their time.

A TreatmentPlan is one booked course; its Sessions hold a practitioner (and optionally a room) for
a time range; Reminders are rows with a due time that the worker sends exactly once.
"""

from __future__ import annotations

from datetime import time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from clinic.formatting import format_day, format_when, local_day
from clinic.i18n import localized
from patients.models import Patient, ReminderChannel
from treatments.models import INTERVAL_DAYS_RANGE, SESSION_COUNT_RANGE, ProtocolTemplate, Treatment

# Counters well inside a small integer on every database.
SMALL_COUNT = MaxValueValidator(30000)


class Practitioner(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="practitioner"
    )
    display_name = models.CharField(_("name shown to patients"), max_length=120)
    title = models.CharField(
        _("title"), max_length=80, blank=True, help_text=_("e.g. Dermatologist")
    )
    treatments = models.ManyToManyField(
        Treatment, blank=True, related_name="practitioners", verbose_name=_("performs")
    )
    is_active = models.BooleanField(_("taking bookings"), default=True)

    history = HistoricalRecords(m2m_fields=[treatments])

    class Meta:
        ordering = ["display_name"]
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")

    def __str__(self) -> str:
        return self.display_name


class Room(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningHours(models.Model):
    """One opening period on a weekday, in the clinic's local time; a day may have several."""

    weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=Weekday.choices, validators=[MaxValueValidator(6)]
    )
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))

    history = HistoricalRecords()

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")),
                name="opening_hours_close_after_open",
                violation_error_message=_("Closing time must be after opening time."),
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="opening_hours_valid_weekday"
            ),
            models.UniqueConstraint(
                fields=["weekday", "opens_at"],
                name="opening_hours_unique_start",
                violation_error_message=_("That weekday already has a period opening then."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class Closure(models.Model):
    """Days the clinic is closed (public holidays, training days), both ends included."""

    starts_on = models.DateField(_("first closed day"))
    ends_on = models.DateField(_("last closed day"))
    reason = models.CharField(_("reason"), max_length=120)

    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_on"]
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="closure_ends_after_start",
                violation_error_message=_("The last closed day cannot be before the first."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.starts_on} – {self.ends_on})"


class WorkingHours(models.Model):
    """One working period of a practitioner on a weekday, in the clinic's local time; a day may
    have several (split shifts). A practitioner with none works whenever the clinic is open; the
    clinic's opening hours still bound every session."""

    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="working_hours"
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=Weekday.choices, validators=[MaxValueValidator(6)]
    )
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))

    history = HistoricalRecords()

    class Meta:
        ordering = ["practitioner", "weekday", "start_time"]
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")),
                name="working_hours_end_after_start",
                violation_error_message=_("A working period must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="working_hours_valid_weekday"
            ),
            models.UniqueConstraint(
                fields=["practitioner", "weekday", "start_time"],
                name="working_hours_unique_start",
                violation_error_message=_("That weekday already has a period starting then."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def clean(self) -> None:
        if (
            self.start_time is not None
            and self.end_time is not None
            and self.end_time <= self.start_time
        ):
            raise ValidationError({"end_time": _("A working period must end after it starts.")})


class Leave(models.Model):
    """Time a practitioner is away: whole days, or from a time on the first day until a time on
    the last (part of a day when both are the same day). Created and changed through
    ``scheduling.services.leave_save``, which refuses leave over booked sessions."""

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="leave")
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    start_time = models.TimeField(
        _("from"), null=True, blank=True, help_text=_("Empty: from the start of the first day.")
    )
    end_time = models.TimeField(
        _("until"), null=True, blank=True, help_text=_("Empty: to the end of the last day.")
    )
    reason = models.CharField(_("reason"), max_length=120, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_on", "start_time", "pk"]
        verbose_name = _("leave")
        verbose_name_plural = _("leave")
        indexes = [models.Index(fields=["practitioner", "ends_on"], name="leave_practitioner_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="leave_ends_after_start",
                violation_error_message=_("The last day of leave cannot be before the first."),
            ),
            models.CheckConstraint(
                # On a single day the leave must end after it starts (an empty "from" is 00:00).
                # Every branch is NOT NULL-safe: a check that evaluates to NULL passes.
                condition=Q(ends_on__gt=F("starts_on"))
                | Q(end_time__isnull=True)
                | Q(start_time__isnull=True, end_time__gt=time(0))
                | Q(start_time__isnull=False, end_time__gt=F("start_time")),
                name="leave_same_day_ends_after_start",
                violation_error_message=_("Leave on a single day must end after it starts."),
            ),
        ]

    def __str__(self) -> str:
        if self.starts_on == self.ends_on:
            return f"{self.practitioner} away {self.starts_on}"
        return f"{self.practitioner} away {self.starts_on} – {self.ends_on}"

    def clean(self) -> None:
        if self.starts_on is None or self.ends_on is None:
            return
        if self.ends_on < self.starts_on:
            raise ValidationError(
                {"ends_on": _("The last day of leave cannot be before the first.")}
            )
        single_day = self.ends_on == self.starts_on
        if (
            single_day
            and self.end_time is not None
            and self.end_time <= (self.start_time or time(0))
        ):
            raise ValidationError(
                {"end_time": _("Leave on a single day must end after it starts.")}
            )


class PlanStatus(models.TextChoices):
    SCHEDULING = "scheduling", _("Being scheduled")
    ACTIVE = "active", _("Active")
    NEEDS_ATTENTION = "needs_attention", _("Needs staff attention")
    MAINTENANCE = "maintenance", _("In maintenance")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class TreatmentPlan(models.Model):
    """One booked course: the protocol chosen for a patient, with its sessions."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="plans")
    template = models.ForeignKey(
        ProtocolTemplate, on_delete=models.PROTECT, related_name="plans", verbose_name=_("protocol")
    )
    practitioner = models.ForeignKey(Practitioner, on_delete=models.PROTECT, related_name="plans")
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, null=True, blank=True, related_name="plans"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.SCHEDULING
    )
    session_count = models.PositiveSmallIntegerField(
        _("initial sessions"), validators=SESSION_COUNT_RANGE
    )
    interval_days = models.PositiveSmallIntegerField(
        _("days between sessions"), validators=INTERVAL_DAYS_RANGE
    )
    first_session_at = models.DateTimeField(_("first session wished at"))
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    booked_at = models.DateTimeField(auto_now_add=True)
    override_reason = models.TextField(
        _("contraindication override reason"),
        blank=True,
        help_text=_("Why the course was booked despite a recorded contraindication."),
    )
    overridden_conditions = models.CharField(_("conditions overridden"), max_length=400, blank=True)
    # Written by the worker and the services for whoever opens the plan later: kept in each
    # language (English here, Korean in the _ko field) and read with clinic.i18n.localized.
    attention_reason = models.TextField(_("why staff attention is needed"), blank=True)
    attention_reason_ko = models.TextField(_("why staff attention is needed (Korean)"), blank=True)
    schedule_notes_ko = models.TextField(_("scheduling notes (Korean)"), blank=True)
    schedule_notes = models.TextField(
        _("scheduling notes"), blank=True, help_text=_("e.g. sessions moved off a taken slot.")
    )
    maintenance_due_on = models.DateField(_("next maintenance due"), null=True, blank=True)
    maintenance_cycle = models.PositiveSmallIntegerField(
        _("maintenance cycles started"), default=0, validators=[SMALL_COUNT]
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-booked_at", "-pk"]
        verbose_name = _("treatment plan")
        verbose_name_plural = _("treatment plans")
        indexes = [
            models.Index(fields=["status", "maintenance_due_on"], name="plan_status_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(session_count__gte=1), name="plan_at_least_one_session"
            ),
            models.CheckConstraint(
                condition=Q(interval_days__gte=1), name="plan_interval_positive"
            ),
            models.CheckConstraint(
                condition=Q(overridden_conditions="") | ~Q(override_reason=""),
                name="plan_override_has_reason",
                violation_error_message=_("Overriding a contraindication needs a reason."),
            ),
        ]

    def __str__(self) -> str:
        # Own fields only: lists and history pages print many plans without joining.
        return gettext("Course %(number)s, booked %(day)s") % {
            "number": self.pk,
            "day": format_day(local_day(self.booked_at)) if self.booked_at else "—",
        }

    @property
    def display_attention_reason(self) -> str:
        return localized(self, "attention_reason")

    @property
    def display_schedule_notes(self) -> str:
        return localized(self, "schedule_notes")


class SessionKind(models.TextChoices):
    INITIAL = "initial", _("Initial")
    MAINTENANCE = "maintenance", _("Maintenance")


class SessionStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


MAX_SESSION_LENGTH = timedelta(days=1)

# Every status but cancelled keeps the practitioner's, room's and patient's time taken.
SLOT_FREEING_STATUSES = frozenset({SessionStatus.CANCELLED})


class Reaction(models.TextChoices):
    SWELLING = "swelling", _("Swelling")
    REDNESS = "redness", _("Redness")
    BUMPS = "bumps", _("Injection bumps")
    TIGHTNESS = "tightness", _("Tightness")
    OTHER = "other", _("Other")


class Session(models.Model):
    # FK indexes left out: (plan, sequence) is unique, and the composite indexes below lead with
    # practitioner and room.
    plan = models.ForeignKey(
        TreatmentPlan, on_delete=models.CASCADE, related_name="sessions", db_index=False
    )
    sequence = models.PositiveSmallIntegerField(
        _("session number"), validators=[MinValueValidator(1), SMALL_COUNT]
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=SessionKind.choices, default=SessionKind.INITIAL
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="sessions", db_index=False
    )
    room = models.ForeignKey(
        Room,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sessions",
        db_index=False,
    )
    # The plan's patient, copied by the booking services so the database can refuse a patient's
    # overlapping sessions (an exclusion constraint cannot reach through the plan).
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="sessions", db_index=False
    )
    status = models.CharField(
        _("status"), max_length=12, choices=SessionStatus.choices, default=SessionStatus.PLANNED
    )
    reactions = models.JSONField(
        _("reactions observed"), default=list, blank=True, help_text=_("Codes from Reaction.")
    )
    reaction_notes = models.TextField(_("reaction notes"), blank=True)
    revision = models.PositiveSmallIntegerField(
        _("times rescheduled"),
        validators=[SMALL_COUNT],
        default=0,
        help_text=_("Reminders belong to one revision; moving the session starts a new one."),
    )
    arrived_at = models.DateTimeField(
        _("arrived at"), null=True, blank=True, help_text=_("When reception saw the patient in.")
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        indexes = [
            models.Index(fields=["practitioner", "starts_at"], name="session_practitioner_idx"),
            models.Index(fields=["room", "starts_at"], name="session_room_idx"),
            models.Index(fields=["patient", "starts_at"], name="session_patient_idx"),
            models.Index(fields=["starts_at"], name="session_starts_idx"),
            # "Is a maintenance session booked?" for each course in maintenance: a few hundred
            # rows among the sessions of every course ever booked.
            models.Index(
                fields=["plan"],
                condition=Q(kind="maintenance", status="planned"),
                name="session_maintenance_booked_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="session_ends_after_start",
                violation_error_message=_("A session must end after it starts."),
            ),
            models.CheckConstraint(
                # Lets "who is busy" queries bound their scan by start time (selectors.py).
                condition=Q(ends_at__lte=F("starts_at") + MAX_SESSION_LENGTH),
                name="session_at_most_a_day",
                violation_error_message=_("A session cannot last more than a day."),
            ),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="session_sequence_positive"),
            models.UniqueConstraint(
                fields=["plan", "sequence"],
                name="session_unique_sequence_per_plan",
                violation_error_message=_("The plan already has a session with this number."),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Session %(number)s of course %(course)s, %(when)s") % {
            "number": self.sequence,
            "course": self.plan_id,
            "when": format_when(self.starts_at),
        }


class ReminderKind(models.TextChoices):
    SESSION_EARLY = "session_early", _("Session reminder (early)")
    SESSION_LATE = "session_late", _("Session reminder (same day)")
    AFTERCARE = "aftercare", _("Aftercare advice")
    MAINTENANCE_EARLY = "maintenance_early", _("Maintenance coming up")
    MAINTENANCE_DUE = "maintenance_due", _("Maintenance due")


class ReminderRule(models.Model):
    """When each kind of reminder goes out; clinic admins tune these in the admin.

    The due time is ``anchor - lead``: the anchor is the session's start for session reminders,
    the session's day for aftercare, and the due date for maintenance. With ``local_time`` set, the
    reminder goes out at that wall-clock time in the clinic's zone on the resulting day.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=ReminderKind.choices, unique=True)
    is_enabled = models.BooleanField(_("send"), default=True)
    lead_minutes = models.PositiveIntegerField(
        _("minutes before"),
        default=0,
        validators=[MaxValueValidator(60 * 24 * 90)],
        help_text=_("2880 = two days before, 120 = two hours."),
    )
    local_time = models.TimeField(_("at local time"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind"]
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")

    def __str__(self) -> str:
        return self.get_kind_display()


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Not needed")


class Reminder(models.Model):
    """A message due at a time. Sent once: the unique keys stop duplicates being created, and the
    pending→sent transition is a conditional update under a row lock."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="reminders")
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ReminderKind.choices)
    cycle = models.PositiveSmallIntegerField(
        _("round"),
        validators=[SMALL_COUNT],
        default=0,
        help_text=_(
            "The session's revision for session reminders; the maintenance cycle for "
            "maintenance reminders."
        ),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ReminderChannel.choices)
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(
        _("status"), max_length=12, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, validators=[SMALL_COUNT])
    last_error = models.TextField(_("last error"), blank=True)
    handoff_started_at = models.DateTimeField(
        _("hand-off started at"),
        null=True,
        blank=True,
        help_text=_(
            "Written before the message is handed to the channel and cleared when the outcome "
            "is recorded. Still set on a waiting row, it means the worker stopped mid-hand-off: "
            "the message is sent again and marked as possibly repeated."
        ),
    )
    possibly_repeated = models.BooleanField(
        _("possibly sent twice"),
        default=False,
        help_text=_(
            "Sent again after a hand-off that was cut short: the patient may have it twice."
        ),
    )
    retried_at = models.DateTimeField(_("last retried by staff at"), null=True, blank=True)
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last retried by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        indexes = [
            # The dispatcher's scan: only pending rows, by due time.
            models.Index(
                fields=["due_at"],
                condition=Q(status="pending"),
                name="reminder_pending_due_idx",
            ),
            # Today's "failed for good" list: a handful of rows among a million sent ones.
            models.Index(
                F("due_at").desc(),
                F("id").desc(),
                condition=Q(status="failed"),
                name="reminder_failed_due_idx",
            ),
            # Today's count of reminders that may have gone out twice.
            models.Index(
                fields=["sent_at"],
                condition=Q(possibly_repeated=True),
                name="reminder_repeated_idx",
            ),
            # Moving or cancelling a session cancels its pending reminders (and its course's
            # maintenance ones): without these the planner matched the session's and course's
            # rows, cancelled ones of every earlier move included, against every pending
            # reminder of the clinic.
            models.Index(
                fields=["session"],
                condition=Q(status="pending"),
                name="reminder_pending_session_idx",
            ),
            models.Index(
                fields=["plan"],
                condition=Q(status="pending"),
                name="reminder_pending_plan_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "kind", "cycle"],
                condition=Q(session__isnull=False),
                name="reminder_once_per_session_kind",
            ),
            models.UniqueConstraint(
                fields=["plan", "cycle", "kind"],
                condition=Q(session__isnull=True),
                name="reminder_once_per_plan_cycle_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False)
                | (~Q(status="sent") & Q(sent_at__isnull=True)),
                name="reminder_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s for course %(course)s, due %(when)s") % {
            "kind": self.get_kind_display(),
            "course": self.plan_id,
            "when": format_when(self.due_at),
        }


# --- What patients ask for, and what they are told ---------------------------------------------


class RequestKind(models.TextChoices):
    MOVE = "move", _("Move")
    CANCEL = "cancel", _("Cancel")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the clinic")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    REFUSED = "refused", _("Not possible")


class SessionRequest(models.Model):
    """A patient asking to move a session to a time the protocol allows, or to cancel it.

    Created and answered only through ``scheduling.requests``: staff accept it through the same
    reschedule and cancel services as any change (so the protocol holds), or decline it with a
    message; one the protocol no longer allows when answered is *refused*, with the reason."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="requests")
    # The session's patient, copied so every query a patient makes is scoped by one column.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="session_requests")
    kind = models.CharField(_("asks to"), max_length=8, choices=RequestKind.choices)
    booked_start = models.DateTimeField(_("booked time when asked"))
    wanted_start = models.DateTimeField(_("wished new time"), null=True, blank=True)
    note = models.TextField(_("note from the patient"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )
    answer = models.TextField(
        _("answer"), max_length=1000, blank=True, help_text=_("The clinic's message or reason.")
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("session request")
        verbose_name_plural = _("session requests")
        indexes = [
            models.Index(fields=["patient", "created_at"], name="session_request_patient_idx"),
            models.Index(
                fields=["created_at"],
                condition=Q(status="open"),
                name="session_request_open_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(status="open"),
                name="session_request_one_open_per_session",
                violation_error_message=_("This session already has a request waiting."),
            ),
            models.CheckConstraint(
                condition=Q(kind="cancel", wanted_start__isnull=True)
                | Q(kind="move", wanted_start__isnull=False),
                name="session_request_move_has_time",
                violation_error_message=_("A request to move a session names the new time."),
            ),
            models.CheckConstraint(
                condition=Q(status="open", answered_at__isnull=True)
                | (~Q(status="open") & Q(answered_at__isnull=False)),
                name="session_request_answered_has_time",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Request to %(kind)s session %(number)s of course %(course)s") % {
            "kind": self.get_kind_display().lower(),
            "number": self.session.sequence,
            "course": self.session.plan_id,
        }


class CalendarFeed(models.Model):
    """The secret address a patient's phone calendar subscribes to. Making a new one replaces
    the old, which stops working at once (the token is the row's only way in)."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="calendar_feed")
    # 192 random bits, shown to the patient whenever they open their schedule (so stored as it
    # is); it gives read access to that patient's session times and nothing else.
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return gettext("Calendar feed of %(patient)s") % {"patient": self.patient}


class MessageKind(models.TextChoices):
    PORTAL_INVITE = "portal_invite", _("Portal login created")
    PASSWORD_RESET = "password_reset", _("New password link")
    REQUEST_ANSWERED = "request_answered", _("Answer to a request")


class PatientMessage(models.Model):
    """A message to a patient that is not a reminder: a set-password link, the answer to their
    request. A row with a due time, sent by the worker exactly once like reminders (claimed with
    ``SKIP LOCKED``, marked sent in the hand-off's transaction, an idempotency key per row) and
    written in the patient's language when it is sent. A set-password link is made at that
    moment too, so no usable link is ever stored."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    request = models.ForeignKey(
        SessionRequest,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ReminderChannel.choices)
    due_at = models.DateTimeField(_("due at"))
    status = models.CharField(
        _("status"), max_length=12, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, validators=[SMALL_COUNT])
    last_error = models.TextField(_("last error"), blank=True)
    handoff_started_at = models.DateTimeField(
        _("hand-off started at"),
        null=True,
        blank=True,
        help_text=_(
            "Written before the message is handed to the channel and cleared when the outcome "
            "is recorded. Still set on a waiting row, it means the worker stopped mid-hand-off: "
            "the message is sent again and marked as possibly repeated."
        ),
    )
    possibly_repeated = models.BooleanField(
        _("possibly sent twice"),
        default=False,
        help_text=_(
            "Sent again after a hand-off that was cut short: the patient may have it twice."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("message to a patient")
        verbose_name_plural = _("messages to patients")
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(status="pending"),
                name="patient_message_pending_idx",
            ),
            models.Index(
                fields=["sent_at"],
                condition=Q(possibly_repeated=True),
                name="patient_message_repeated_idx",
            ),
            models.Index(fields=["patient", "kind", "created_at"], name="patient_message_kind_idx"),
        ]
        constraints = [
            # The answer to a request is told once, however often the answer is saved.
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(kind="request_answered"),
                name="patient_message_one_answer_per_request",
            ),
            models.CheckConstraint(
                condition=~Q(kind="request_answered") | Q(request__isnull=False),
                name="patient_message_answer_names_request",
            ),
            models.CheckConstraint(
                condition=Q(status="sent", sent_at__isnull=False)
                | (~Q(status="sent") & Q(sent_at__isnull=True)),
                name="patient_message_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s for %(patient)s, due %(when)s") % {
            "kind": self.get_kind_display(),
            "patient": self.patient_id,
            "when": format_when(self.due_at),
        }
