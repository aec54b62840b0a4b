"""Talking to Dremio: the REST client, Arrow Flight queries, and the lake's automation.

Imports neither PySpark nor Pulumi (tests/unit/test_dependency_rule.py): it runs in the
bootstrap Job from the job image and in the CLI.
"""
