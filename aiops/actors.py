"""Who did it: the name recorded as the actor of a timeline row, a decision or a run."""


def actor_name(user) -> str:
    """The user's username, or "anonymous" for no user or an unauthenticated one."""
    return user.get_username() if user is not None and user.is_authenticated else "anonymous"
