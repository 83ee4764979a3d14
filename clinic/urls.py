from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clinic import views

admin.site.site_header = settings.CLINIC_NAME
admin.site.site_title = settings.CLINIC_NAME

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("clinic.api.urls")),
]

handler404 = "clinic.views.not_found"
handler500 = "clinic.views.server_error"
