"""Roles are Django groups: viewer reads, operator writes, approver decides at the gate."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

VIEWER, OPERATOR, APPROVER = "viewer", "operator", "approver"
ROLES = (VIEWER, OPERATOR, APPROVER)


def has_role(user, *roles: str) -> bool:
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
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
