"""Staff pages about the catalogue (mounted under /staff/ by clinic/urls.py, which decides
access)."""

from django.urls import URLPattern, path

from treatments import views

staff_urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/suggest/", views.suggest, name="suggest"),
]
