"""`manage.py kb_ingest PATH…`: markdown files (or folders of them, *.md recursively) into the
knowledge base, all in one transaction. Title: front matter `title`, else the first `#`
heading, else the file name; `kind` (default runbook), `services` and `source_url` from
optional YAML front matter. Any invalid file stores nothing."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.kb import chunking, services
from apps.kb.documents import check_document


def markdown_files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.md") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"{name}: no such file or directory")
    return found


def read_document(path: Path) -> dict:
    """The raw document of one markdown file, for documents.check_document."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        parsed = chunking.read_markdown(text, fallback_title=path.stem.replace("-", " "))
    except chunking.FrontMatterError as exc:
        raise CommandError(f"{path}: {exc}") from None
    services_ = parsed.meta.get("services", [])
    return {
        "title": parsed.title,
        "kind": parsed.meta.get("kind", "runbook"),
        "services": [services_] if isinstance(services_, str) else services_,
        "source_url": parsed.meta.get("source_url", ""),
        "body": parsed.body,
    }


class Command(BaseCommand):
    help = "Ingest markdown runbooks/postmortems (files or folders) into the knowledge base."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--actor", default="kb_ingest")

    def handle(self, *args, paths, actor, **options):
        files = markdown_files(paths)
        if not files:
            raise CommandError("no markdown file found")
        docs, problems = [], []
        for path in files:
            doc, errors = check_document(
                0, read_document(path), max_body_chars=settings.KB_MAX_BODY_CHARS
            )
            problems += [f"{path}: {e.field}: {e.message}" for e in errors]
            if doc is not None:
                docs.append(doc)
        if problems:
            raise CommandError("nothing was stored:\n" + "\n".join(problems))
        results = services.docs_ingest(docs=docs, actor=actor)
        for result in results:
            doc = result.doc
            self.stdout.write(f"{result.outcome:9} {doc.title} ({doc.chunk_count} chunks)")
