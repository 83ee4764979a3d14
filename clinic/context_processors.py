from django.conf import settings
from django.http import HttpRequest

from clinic.roles import is_clinic_admin, is_patient, is_staff_member


def clinic(request: HttpRequest) -> dict[str, object]:
    """The clinic's name and time zone, and what the user's roles let the page offer."""
    user = getattr(request, "user", None)
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_time_zone": settings.TIME_ZONE,
        "is_staff_member": is_staff_member(user),
        "is_clinic_admin": is_clinic_admin(user),
        "is_patient": is_patient(user),
    }
