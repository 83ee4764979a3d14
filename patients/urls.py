"""Pages about patients, by audience (mounted by clinic/urls.py, which decides access)."""

from django.urls import URLPattern, path

from clinic.access import role_required
from clinic.roles import Role
from patients import portal_views, views

staff_urlpatterns: list[URLPattern] = [
    path("patients/", views.patient_list, name="patients"),
    path("patients/new/", views.patient_new, name="patient-new"),
    path("patients/<int:patient_id>/", views.patient_detail, name="patient"),
    path("patients/<int:patient_id>/history/", views.patient_history, name="patient-history"),
    path("patients/<int:patient_id>/edit/", views.patient_edit, name="patient-edit"),
    # Who looked at a record is for clinic admins only (plain staff get 403).
    path(
        "patients/<int:patient_id>/access/",
        role_required(Role.CLINIC_ADMIN)(views.patient_access_log),
        name="patient-access",
    ),
    path("patients/<int:patient_id>/login/", views.patient_login, name="patient-login"),
    path(
        "patients/<int:patient_id>/login/link/",
        views.patient_login_link,
        name="patient-login-link",
    ),
]

# The patient's own pages (mounted under /my/ by clinic/urls.py, for patients only).
patient_urlpatterns: list[URLPattern] = [
    path("language/", portal_views.language, name="language"),
]
