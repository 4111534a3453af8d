from django.apps import AppConfig


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "Order management"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from oms.security import session_touched_at_login

        # Infrastructure, not business: a new session starts its idle clock (oms/security.py).
        user_logged_in.connect(session_touched_at_login, dispatch_uid="storefill-session-touched-at-login")
