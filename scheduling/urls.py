"""Staff pages about the clinic's day, booking and courses (mounted under /staff/ by
clinic/urls.py, which decides access)."""

from django.urls import URLPattern, path

from scheduling import calendar_views, day_views, session_views, staff_views

staff_urlpatterns: list[URLPattern] = [
    path("", day_views.today, name="today"),
    path(
        "reminders/<int:reminder_id>/retry/", day_views.reminder_retry_view, name="reminder-retry"
    ),
    path("calendar/", calendar_views.calendar, name="calendar"),
    path("maintenance/", day_views.maintenance, name="maintenance"),
    path("maintenance/<int:plan_id>/book/", day_views.maintenance_book, name="maintenance-book"),
    path("patients/<int:patient_id>/book/", staff_views.book, name="book"),
    path("plans/<int:plan_id>/", staff_views.plan_status, name="plan"),
    path("sessions/<int:session_id>/", session_views.session_panel, name="session"),
]
