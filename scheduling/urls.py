"""Staff pages about the clinic's day, booking and courses (mounted under /staff/ by
clinic/urls.py, which decides access)."""

from django.urls import URLPattern, path

from scheduling import staff_views

staff_urlpatterns: list[URLPattern] = [
    path("", staff_views.today, name="today"),
    path("calendar/", staff_views.calendar, name="calendar"),
    path("maintenance/", staff_views.maintenance, name="maintenance"),
    path("patients/<int:patient_id>/book/", staff_views.book, name="book"),
    path("plans/<int:plan_id>/", staff_views.plan_status, name="plan"),
]
