"""`manage.py kb_reindex`: embed every chunk again with the current model (after changing
AIOPS_KB_MODEL / AIOPS_KB_MODEL_PATH). Queues the work on the default queue, or does it in
this process with --now."""

from django.core.management.base import BaseCommand

from apps.kb import services


class Command(BaseCommand):
    help = "Re-embed all knowledge base chunks with the current model."

    def add_arguments(self, parser):
        parser.add_argument(
            "--now", action="store_true", help="embed here and now instead of queueing"
        )
        parser.add_argument(
            "--pending", action="store_true", help="only chunks not embedded with the model yet"
        )

    def handle(self, *args, now, pending, **options):
        if not pending:
            count = services.chunks_reindex(queue=not now)
            self.stdout.write(f"{count} chunk(s) reset")
        if now:
            self.stdout.write(f"{services.chunks_embed()} chunk(s) embedded")
        elif pending:
            services.queue_embedding(None)
            self.stdout.write("embedding of pending chunks queued")
