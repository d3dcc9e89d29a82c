from allauth.account.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from dashboard.accounts.models import User
from dashboard.tenants.services import activity_record_sign_in


@receiver(user_logged_in)
def record_sign_in(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    activity_record_sign_in(user=user, request=request)
