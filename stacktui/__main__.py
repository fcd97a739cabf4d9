import sys

from stacktui.cli import main

sys.exit(main())
