"""The ``lakehouse`` command line. Subcommands import their dependencies lazily."""
