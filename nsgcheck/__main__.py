"""`python -m nsgcheck` runs the CLI."""
import sys

from nsgcheck.cli import main

sys.exit(main())
