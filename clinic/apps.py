from django.apps import AppConfig


class ClinicConfig(AppConfig):
    """The project package is also an app, home of project-wide commands (seed, demo data)."""

    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from django.contrib.auth.models import User
        from django.contrib.auth.signals import user_logged_in
        from django.core.signals import request_finished, request_started
        from django.db.backends.signals import connection_created
        from django.utils import timezone
        from simple_history.signals import pre_create_historical_record

        from clinic.data_version import request_began, request_ended, watch_connection
        from clinic.history import build_history_managers_once, fill_worker_reason
        from clinic.sessions import session_login_record

        # Every way of logging in (login page, admin, set-password link) starts the session's
        # clock, so its limits are known without a query on later requests.
        def record_login(sender: object, request: object, user: object, **kwargs: object) -> None:
            if request is not None and hasattr(request, "session"):
                session_login_record(request=request, user=user)  # type: ignore[arg-type]

        user_logged_in.connect(record_login, dispatch_uid="clinic.sessions.record_login")

        # Django saves the whole user to note the login, which would add a row to the user's
        # change history per login; logins are not changes (the lockout's log keeps them).
        def note_last_login(sender: object, user: User, **kwargs: object) -> None:
            user.last_login = timezone.now()
            type(user)._default_manager.filter(pk=user.pk).update(last_login=user.last_login)

        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(note_last_login, dispatch_uid="clinic.note_last_login")
        # Every committed write raises the data versions that key kept pages and values.
        connection_created.connect(watch_connection, dispatch_uid="clinic.data_version.watch")
        # A request reads the version once; the worker and commands read it afresh each time.
        request_started.connect(request_began, dispatch_uid="clinic.data_version.began")
        request_finished.connect(request_ended, dispatch_uid="clinic.data_version.ended")
        # History written by the worker names the task, not a person.
        pre_create_historical_record.connect(fill_worker_reason, dispatch_uid="worker_reason")
        build_history_managers_once()
