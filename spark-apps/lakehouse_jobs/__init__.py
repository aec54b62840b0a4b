"""The medallion Spark jobs (bronze, silver, gold) that run as SparkApplications.

Imports only PySpark, Delta and the project's pure-Python catalog and version matrix:
never Pulumi, never the CLI (tests/unit/test_dependency_rule.py keeps it so).
"""
