"""Validators generated ahead of time from the packaged schemas (see `ipt_notes.codegen`)."""
