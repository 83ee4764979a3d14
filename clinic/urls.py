from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clinic import views
from clinic.access import for_audience, staff_required
from patients.urls import staff_urlpatterns as patient_pages
from scheduling.urls import staff_urlpatterns as scheduling_pages
from treatments.urls import staff_urlpatterns as treatment_pages

admin.site.site_header = settings.CLINIC_NAME
admin.site.site_title = settings.CLINIC_NAME

# Every page under /staff/ is for clinic staff (and clinic admins), decided here once.
staff_pages = for_audience(staff_required, [*scheduling_pages, *patient_pages, *treatment_pages])

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("staff/", include((staff_pages, "staff"))),
    path("admin/", admin.site.urls),
    path("api/", include("clinic.api.urls")),
]

handler404 = "clinic.views.not_found"
handler500 = "clinic.views.server_error"
