"""The web entry point (gunicorn aiops.wsgi:application)."""

from django.core.wsgi import get_wsgi_application

from aiops import bootstrap

bootstrap.prepare()
application = get_wsgi_application()
