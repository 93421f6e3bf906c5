"""`python -m mopd.data`: the entry point of the data command line, which lives in `mopd.cli.data`."""
import sys

from mopd.cli.data import main

sys.exit(main())
