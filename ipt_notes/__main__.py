"""`python -m ipt_notes` runs the command line."""

from ipt_notes.cli import main

if __name__ == "__main__":
    main()
