"""Pure episode logic: one open finding per (rule, series) episode, not one per firing minute.

An episode opens on the first firing evaluation, stays open while the rule keeps firing or has
been quiet for fewer than `clear_after` evaluations in a row (a flapping series is one
episode, not many), and resolves after `clear_after` quiet evaluations. The caller stores the
Episode between evaluations and acts on the returned action.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN, CONTINUE, RESOLVE = "open", "continue", "resolve"


@dataclass(frozen=True)
class Episode:
    open: bool = False
    quiet: int = 0  # consecutive evaluations without firing while open


def advance(episode: Episode, fired: bool, *, clear_after: int) -> tuple[Episode, str | None]:
    """The episode after one evaluation, and what to do: OPEN (a new finding), CONTINUE
    (still firing, no new finding), RESOLVE (quiet for `clear_after` evaluations) or None."""
    if fired:
        return Episode(open=True), CONTINUE if episode.open else OPEN
    if not episode.open:
        return episode, None
    quiet = episode.quiet + 1
    if quiet >= clear_after:
        return Episode(), RESOLVE
    return Episode(open=True, quiet=quiet), None
