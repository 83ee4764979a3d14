"""Pages about the clinic's day, courses and sessions, by audience: staff pages (mounted under
/staff/) and the patient's own (under /my/); clinic/urls.py decides access."""

from django.urls import URLPattern, path

from scheduling import patient_views, staff_views

staff_urlpatterns: list[URLPattern] = [
    path("", staff_views.today, name="today"),
    path("calendar/", staff_views.calendar, name="calendar"),
    path("maintenance/", staff_views.maintenance, name="maintenance"),
    path("patients/<int:patient_id>/book/", staff_views.book, name="book"),
    path("plans/<int:plan_id>/", staff_views.plan_status, name="plan"),
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
