"""The Librarian's API (DESIGN §5, docs/librarian.md): POST /kb/ingest needs the operator
role (runbooks are what the loop will act on; the ingest role writes evidence, not advice);
GET /kb/search is read by any role that reads."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiExample,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from aiops.actors import actor_name
from aiops.idempotency import IDEMPOTENCY_KEY, idempotent
from apps.cases.selectors import case_get
from apps.kb import loop, selectors, services
from apps.kb.api import serializers as shapes
from apps.kb.documents import parse_documents
from apps.kb.exceptions import InvalidDocuments, InvalidSearch
from apps.kb.handlers import case_url


class IngestView(APIView):
    """One document or an array of them; all are stored or none."""

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="KbDocuments",
            serializers=[shapes.DocInSerializer, shapes.DocInSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={200: shapes.IngestResultSerializer},
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample(
                "a runbook",
                request_only=True,
                value={
                    "title": "Checkout latency",
                    "kind": "runbook",
                    "services": ["checkout"],
                    "source_url": "https://wiki.example.com/runbooks/checkout-latency",
                    "body": "# Checkout latency\n## Mitigation\n### Roll back\n"
                    "Undo the last deploy: `kubectl rollout undo deploy/checkout`.",
                },
            )
        ],
    )
    @idempotent
    def post(self, request):
        docs, errors = parse_documents(
            request.data,
            max_docs=settings.KB_MAX_DOCS,
            max_body_chars=settings.KB_MAX_BODY_CHARS,
        )
        if errors:
            raise InvalidDocuments.listing(errors, shown=settings.INGEST_MAX_ERRORS_SHOWN)
        results = services.docs_ingest(docs=docs, actor=actor_name(request.user))
        body = shapes.IngestResultSerializer({"documents": results}).data
        return Response(body, status=status.HTTP_200_OK)


class SearchView(APIView):
    """Top-k chunks by hybrid (default), vector or text ranking, filtered inside the scan."""

    @extend_schema(
        parameters=[shapes.SearchQuerySerializer],
        responses={200: shapes.SearchResultSerializer},
    )
    def get(self, request):
        query = shapes.SearchQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise InvalidSearch("See errors.", errors=query.errors)
        params = query.validated_data
        hits = selectors.search(
            params["q"],
            k=params["k"],
            kind=params.get("kind"),
            service=params.get("service"),
            mode=params["mode"],
        )
        return Response(shapes.SearchResultSerializer({"hits": hits}).data)


class SimilarQuerySerializer(drf_serializers.Serializer):
    k = drf_serializers.IntegerField(
        min_value=1, max_value=20, default=5, help_text="how many similar cases"
    )


class SimilarCasesView(APIView):
    """GET /case/{id}/similar?k=: the closed cases most like this one (their case documents),
    each with how it ended and the change it made."""

    @extend_schema(
        parameters=[SimilarQuerySerializer],
        responses={
            200: inline_serializer(
                "SimilarCases",
                {
                    "query": drf_serializers.CharField(),
                    "cases": drf_serializers.ListField(child=drf_serializers.DictField()),
                    "track_record": drf_serializers.DictField(),
                },
            )
        },
    )
    def get(self, request, case_id):
        case = case_get(case_id)
        params = SimilarQuerySerializer(data=request.query_params)
        if not params.is_valid():
            raise InvalidSearch("k must be an integer from 1 to 20.", errors=params.errors)
        query = loop.case_query(case)
        similar = loop.similar_cases(
            query, k=params.validated_data["k"], exclude_url=case_url(case.pk)
        )
        return Response(
            {"query": query, "cases": similar, "track_record": loop.track_record(similar)}
        )
