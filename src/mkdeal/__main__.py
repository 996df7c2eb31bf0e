import sys

from mkdeal.cli import main

sys.exit(main())
