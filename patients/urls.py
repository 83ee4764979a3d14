"""Staff pages about patients (mounted under /staff/ by clinic/urls.py, which decides access)."""

from django.urls import URLPattern, path

from patients import views

staff_urlpatterns: list[URLPattern] = [
    path("patients/", views.patient_list, name="patients"),
    path("patients/new/", views.patient_new, name="patient-new"),
    path("patients/<int:patient_id>/", views.patient_detail, name="patient"),
    path("patients/<int:patient_id>/edit/", views.patient_edit, name="patient-edit"),
]
