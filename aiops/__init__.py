"""The project package: settings, URLs, the Celery app, entry points and shared helpers.

Importing it has no side effect (no Celery app either: AiopsConfig.ready loads that).
"""
