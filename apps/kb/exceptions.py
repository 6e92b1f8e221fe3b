"""Domain errors of the Librarian, rendered as problem+json by aiops.problems."""

from aiops.problems import Problem


class InvalidDocuments(Problem):
    """Documents with errors: nothing of the request was stored."""

    status, slug, title = 400, "invalid-documents", "Some documents are invalid"

    @classmethod
    def listing(cls, errors: list, *, shown: int):
        listed = errors[:shown]
        return cls(
            f"{len(errors)} problem(s) in the request; nothing was stored.",
            errors=[e.as_dict() for e in listed],
            errors_truncated=len(errors) > len(listed),
        )


class InvalidSearch(Problem):
    status, slug, title = 400, "invalid-search", "The search is invalid"
