from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clinic import views
from clinic.access import for_audience, patient_required, staff_required
from patients import portal_views as account_views
from patients.urls import patient_urlpatterns as my_patient_pages
from patients.urls import staff_urlpatterns as patient_pages
from scheduling import patient_views
from scheduling.urls import patient_urlpatterns as my_scheduling_pages
from scheduling.urls import staff_urlpatterns as scheduling_pages
from treatments.urls import staff_urlpatterns as treatment_pages

admin.site.site_header = settings.CLINIC_NAME
admin.site.site_title = settings.CLINIC_NAME

# Every page under /staff/ is for clinic staff (and clinic admins), decided here once.
staff_pages = for_audience(staff_required, [*scheduling_pages, *patient_pages, *treatment_pages])
# Every page under /my/ is the logged-in patient's own, in their language, decided here once.
portal_pages = for_audience(patient_required, [*my_scheduling_pages, *my_patient_pages])

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("ping", views.ping, name="ping"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Patients choose a password from a link the clinic sends (short: it goes into SMS).
    path("login/forgot/", account_views.password_forgotten, name="password-forgotten"),
    path(
        "login/forgot/sent/",
        account_views.password_forgotten_sent,
        name="password-forgotten-sent",
    ),
    path("p/<uidb64>/<token>/", account_views.PasswordSetView.as_view(), name="password-set"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("staff/", include((staff_pages, "staff"))),
    path("my/", include((portal_pages, "portal"))),
    # Phones fetch the calendar without logging in: the secret token in the address decides.
    path("calendar/<str:token>.ics", patient_views.calendar_feed, name="calendar-feed"),
    path("admin/", admin.site.urls),
    path("api/", include("clinic.api.urls")),
]

handler400 = "clinic.views.bad_request"
handler404 = "clinic.views.not_found"
handler500 = "clinic.views.server_error"
