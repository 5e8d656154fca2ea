"""ipt-notes: session notes for Interpersonal Psychotherapy, checked and versioned in git."""

__version__ = "0.1.0"
