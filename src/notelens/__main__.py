"""`python -m notelens` is the `notelens` command."""

from .cli import main

raise SystemExit(main())
