import sys

from lakehouse_jobs.main import main

sys.exit(main())
