"""`python -m nsgcheck` runs the CLI."""
from nsgcheck.cli import run

run()
