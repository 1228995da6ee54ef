"""`python -m feedbackloop` runs the command line."""

from feedbackloop.cli import main

main()
