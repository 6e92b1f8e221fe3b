"""Operators' view of the knowledge base: documents with their chunks (read-only: documents
arrive through POST /kb/ingest or `manage.py kb_ingest`), a search page that shows what
GET /kb/search returns, and a re-index action."""

from django.conf import settings
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path

from apps.kb import selectors, services
from apps.kb.documents import KINDS
from apps.kb.models import KbChunk, KbDoc


class KbChunkInline(admin.TabularInline):
    model = KbChunk
    extra = 0
    can_delete = False
    fields = ["ordinal", "heading", "text", "model", "embedded"]
    readonly_fields = fields

    @admin.display(boolean=True)
    def embedded(self, chunk):
        return chunk.embedding is not None

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(KbDoc)
class KbDocAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "services", "chunk_count", "updated_at", "updated_by"]
    list_filter = ["kind"]
    search_fields = ["title", "key", "source_url"]
    readonly_fields = [f.name for f in KbDoc._meta.fields]
    inlines = [KbChunkInline]
    actions = ["reindex"]
    change_list_template = "admin/kb/kbdoc/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Re-embed the chunks of the selected documents")
    def reindex(self, request, queryset):
        count = services.chunks_reindex(doc_ids=list(queryset.values_list("pk", flat=True)))
        messages.info(request, f"{count} chunk(s) queued to be embedded with {settings.KB_MODEL}.")

    def get_urls(self):
        search = path(
            "search/", self.admin_site.admin_view(self.search_view), name="kb_kbdoc_search"
        )
        return [search, *super().get_urls()]

    def search_view(self, request):
        """The hits GET /kb/search would return for the same parameters."""
        params = {
            "q": request.GET.get("q", "").strip()[: settings.KB_SEARCH_MAX_QUERY_CHARS],
            "kind": request.GET.get("kind") if request.GET.get("kind") in KINDS else None,
            "service": request.GET.get("service", "").strip()[:100] or None,
            "mode": request.GET.get("mode")
            if request.GET.get("mode") in selectors.MODES
            else "hybrid",
        }
        try:
            k = min(max(int(request.GET.get("k", 5)), 1), settings.KB_SEARCH_MAX_K)
        except ValueError:
            k = 5
        hits = (
            selectors.search(
                params["q"],
                k=k,
                kind=params["kind"],
                service=params["service"],
                mode=params["mode"],
            )
            if params["q"]
            else []
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Search the knowledge base",
            "opts": self.model._meta,
            "params": params,
            "k": k,
            "kinds": KINDS,
            "modes": selectors.MODES,
            "hits": hits,
        }
        return TemplateResponse(request, "admin/kb/search.html", context)


@admin.register(KbChunk)
class KbChunkAdmin(admin.ModelAdmin):
    list_display = ["doc", "ordinal", "heading", "model"]
    list_filter = ["kind", "model"]
    search_fields = ["heading", "text"]
    exclude = ["embedding", "tsv"]
    readonly_fields = [
        "doc",
        "ordinal",
        "heading",
        "text",
        "content_hash",
        "kind",
        "services",
        "model",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
