"""Identities as git and the notes write them, `Name <address>`: people are matched by address."""

from __future__ import annotations

__all__ = ["email_of"]


def email_of(identity: str) -> str:
    """The address in `Name <address>` (and whatever follows it), lowercased; empty without one."""
    start, end = identity.find("<"), identity.find(">")
    return identity[start + 1 : end].strip().lower() if 0 <= start < end else ""
