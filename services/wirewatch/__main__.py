import sys

from wirewatch.cli.main import main

sys.exit(main())
