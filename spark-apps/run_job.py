"""The mainApplicationFile of every SparkApplication: hands over to lakehouse_jobs.main."""

import sys

from lakehouse_jobs.main import main

if __name__ == "__main__":
    sys.exit(main())
