"""What a notification says (pure): a Slack-compatible message and a generic JSON body."""

from __future__ import annotations

EMOJI = {"needs_human": ":raising_hand:", "parked": ":warning:", "closed": ":white_check_mark:"}
HEADLINE = {
    "needs_human": "needs a human decision at the gate",
    "parked": "was parked",
    "closed": "was closed",
}


def generic(*, what: str, case: dict, reason: str, url: str, at: str) -> dict:
    return {"type": f"aiops.case.{what}", "case": case, "reason": reason, "url": url, "at": at}


def slack(*, what: str, case: dict, reason: str, url: str, at: str) -> dict:
    """Slack's incoming-webhook shape (`text`, with mrkdwn link syntax)."""
    head = f"{EMOJI[what]} <{url}|{_escape(case['title'])}> {HEADLINE[what]}"
    where = f"{case['service']} in {case['environment']}, {case['severity']}"
    text = f"{head}\n{where}" + (f"\n> {_escape(reason)[:500]}" if reason else "")
    return {"text": text}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


BUILDERS = {"slack": slack, "generic": generic}
