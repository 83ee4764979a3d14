from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from patients.api import PatientViewSet
from scheduling.api import (
    MyScheduleView,
    PlanViewSet,
    PractitionerViewSet,
    ReminderViewSet,
    RoomViewSet,
    SessionViewSet,
)
from treatments.api import SkinConcernViewSet, SuggestionsView, TreatmentViewSet

router = DefaultRouter()
router.include_format_suffixes = False
router.register("treatments", TreatmentViewSet, basename="treatment")
router.register("concerns", SkinConcernViewSet, basename="concern")
router.register("practitioners", PractitionerViewSet, basename="practitioner")
router.register("rooms", RoomViewSet, basename="room")
router.register("patients", PatientViewSet, basename="patient")
router.register("plans", PlanViewSet, basename="plan")
router.register("sessions", SessionViewSet, basename="session")
router.register("reminders", ReminderViewSet, basename="reminder")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/me/schedule/", MyScheduleView.as_view(), name="my-schedule"),
    path("v1/suggestions/", SuggestionsView.as_view(), name="suggestions"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # A person opening the docs in a browser without a login is sent to log in (the schema
    # itself answers 401 like the rest of the API: SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]).
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
]
