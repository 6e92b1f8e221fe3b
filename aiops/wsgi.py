"""The web entry point (gunicorn aiops.wsgi:application)."""

from django.core.wsgi import get_wsgi_application

from aiops import bootstrap, warm

bootstrap.prepare()
application = get_wsgi_application()
warm.settle_web()
