"""The grammar of ipt-notes' own commit messages: an action, the client's ID and numbers, nothing else.

Commands write their messages through `message`; `log` reads them back with `parse`, so the two
cannot disagree. A message that does not fully match, for this client, is a commit made by hand.
"""

from __future__ import annotations

import functools
import re

__all__ = ["ACTIONS", "message", "note_item", "parse"]

# A session number as messages write it: 1 to 999, without leading zeros.
_NUMBER = r"[1-9][0-9]{0,2}"
_NOTE = rf"(?:{_NUMBER}(?: addendum-[1-9][0-9]*)?|review)"
ACTIONS: dict[str, str | None] = {
    "new-client": None,
    "apply-settings": None,
    "new-session": _NUMBER,
    "sign": _NOTE,
    "cosign": _NOTE,
    "amend": _NUMBER,
    "close": None,
}
"""Each action, and what follows the client ID in each of its items (None: the ID alone)."""
_SINGLE = frozenset({"new-client", "apply-settings", "new-session", "amend", "close"})
"""Actions that name one item; sign and cosign may name several notes of the client."""


def message(action: str, *items: str) -> str:
    """`action` followed by its items (`C-0042 5`, `C-0042 5 addendum-1`, `C-0042 review`), comma-separated."""
    if action not in ACTIONS:
        raise ValueError(f"not an ipt-notes action: {action}")
    return f"{action} {', '.join(items)}"


def parse(subject: str, client_id: str) -> str | None:
    """The subject when it is one of ipt-notes' own messages about this client, else None."""
    action, _, rest = subject.partition(" ")
    if action not in ACTIONS:
        return None
    return subject if _grammar(action, client_id).fullmatch(rest) else None


@functools.cache
def _grammar(action: str, client_id: str) -> re.Pattern[str]:
    """What follows `action` in its messages about this client (a log asks thousands of times)."""
    tail = ACTIONS[action]
    item = re.escape(client_id) + (f" {tail}" if tail else "")
    return re.compile(item if action in _SINGLE else f"{item}(?:, {item})*")


def note_item(client_id: str, name: str) -> str:
    """How a note is named in a message: `C-0042 5`, `C-0042 5 addendum-1` or `C-0042 review`."""
    stem = name.removesuffix(".md")
    return f"{client_id} {stem.replace('.', ' ').lstrip('0') or stem}"
