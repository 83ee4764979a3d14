"""Pages about the clinic's day, courses and sessions, by audience: staff pages (mounted under
/staff/) and the patient's own (under /my/); clinic/urls.py decides access."""

from django.urls import URLPattern, path

from scheduling import calendar_views, day_views, patient_views, session_views, staff_views

staff_urlpatterns: list[URLPattern] = [
    path("", day_views.today, name="today"),
    path("today/side/", day_views.today_side, name="today-side"),
    path(
        "reminders/<int:reminder_id>/retry/", day_views.reminder_retry_view, name="reminder-retry"
    ),
    path("calendar/", calendar_views.calendar, name="calendar"),
    path("maintenance/", day_views.maintenance, name="maintenance"),
    path("maintenance/<int:plan_id>/book/", day_views.maintenance_book, name="maintenance-book"),
    path("patients/<int:patient_id>/book/", staff_views.book, name="book"),
    path("plans/<int:plan_id>/", staff_views.plan_status, name="plan"),
    path("sessions/<int:session_id>/", session_views.session_panel, name="session"),
    path("requests/<int:request_id>/accept/", staff_views.request_accept, name="request-accept"),
    path("requests/<int:request_id>/decline/", staff_views.request_decline, name="request-decline"),
]

# The patient's own pages (mounted under /my/ by clinic/urls.py, for patients only).
patient_urlpatterns: list[URLPattern] = [
    path("", patient_views.my_schedule, name="schedule"),
    path("calendar.ics", patient_views.calendar_download, name="calendar"),
    path("calendar/new-address/", patient_views.calendar_renew, name="calendar-renew"),
    path("sessions/<int:session_id>/change/", patient_views.session_change, name="session-change"),
]
