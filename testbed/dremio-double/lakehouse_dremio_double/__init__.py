"""A Dremio API double: a stand-in for Dremio OSS 25.2, never Dremio itself.

Dremio cannot run where this project is built and tested (no registry there carries a
Dremio server, and its source builds only against Dremio's own forks of Arrow, Calcite,
Parquet and Hadoop). This double answers the part of Dremio's REST API and Arrow Flight
the project uses the way Dremio 25.2 answers it, as read from the dremio-oss 25.2.0
source: status codes, messages, job states, result schemas and value formats. It reads
the lake's Delta tables through the project's Dremio rules check (so a table Dremio could
not read fails as Dremio would) and a real Delta reader (delta-rs), and runs the SQL the
project and its docs send on DuckDB.

Used by the contract tests, and as the Dremio stand-in image of the local cluster test bed
(tagged as the stacks name Dremio's image). Where it differs from Dremio is listed in the
docs/dremio-contract.md, behaviour by behaviour.
"""
