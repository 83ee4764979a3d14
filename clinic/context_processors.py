from django.conf import settings
from django.http import HttpRequest


def clinic(request: HttpRequest) -> dict[str, str]:
    """Expose the clinic's name and time zone to every template."""
    return {"clinic_name": settings.CLINIC_NAME, "clinic_time_zone": settings.TIME_ZONE}
