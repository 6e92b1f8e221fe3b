"""One finding per episode: open, continue, resolve (pure: no database)."""

from apps.analyst.episodes import Episode, advance


def run(firings: str, clear_after: int = 3) -> list[str | None]:
    """The actions for a string of evaluations: 'x' fired, '.' did not."""
    episode, actions = Episode(), []
    for mark in firings:
        episode, action = advance(episode, mark == "x", clear_after=clear_after)
        actions.append(action)
    return actions


def test_the_first_firing_opens_an_episode():
    assert advance(Episode(), True, clear_after=3) == (Episode(open=True), "open")


def test_firing_again_continues_without_a_new_finding():
    assert run("xxx") == ["open", "continue", "continue"]


def test_quiet_evaluations_without_an_episode_do_nothing():
    assert run("...") == [None, None, None]


def test_the_episode_resolves_after_clear_after_quiet_evaluations():
    assert run("x...") == ["open", None, None, "resolve"]


def test_a_flapping_series_stays_one_episode():
    assert run("x.x.x..x") == ["open", None, "continue", None, "continue", None, None, "continue"]


def test_firing_after_a_resolve_opens_a_new_episode():
    assert run("x...x") == ["open", None, None, "resolve", "open"]


def test_quiet_count_restarts_when_the_rule_fires_again():
    episode, _ = advance(Episode(open=True, quiet=2), True, clear_after=3)
    assert episode == Episode(open=True, quiet=0)
