"""Roles are Django groups: viewer reads, operator writes, approver decides at the gate,
ingest writes evidence (POST /ingest/*: the metric points the Verifier judges changes by).
Superusers hold every role. Who may call what: docs/security.md."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

VIEWER, OPERATOR, APPROVER, INGEST = "viewer", "operator", "approver", "ingest"
# The roles that may read the API. INGEST is not one of them: a service token that feeds
# metrics reads nothing, and people who read or change things do not write evidence.
ROLES = (VIEWER, OPERATOR, APPROVER)


# Set by token authentication on the user it loads for one request: the names of the
# user's groups, read in the same statement as the token (aiops.authentication).
GROUPS_READ = "_groups_read"


def has_role(user, *roles: str) -> bool:
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    groups = getattr(user, GROUPS_READ, None)
    if groups is not None:
        return not groups.isdisjoint(roles)
    return user.groups.filter(name__in=roles).exists()


class ReadOrOperate(BasePermission):
    """Any role may read; writes need the operator role."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return has_role(request.user, *ROLES)
        return has_role(request.user, OPERATOR)


class IsApprover(BasePermission):
    def has_permission(self, request, view):
        return has_role(request.user, APPROVER)


class CanIngest(BasePermission):
    """Ingestion needs the ingest role: whoever writes the evidence a change is verified by
    must not be who makes changes (operators) or approves them."""

    def has_permission(self, request, view):
        return has_role(request.user, INGEST)
