#!/bin/bash
# The Spark operator stand-in's entrypoint: the operator under tini (it starts
# spark-submit for every application, whose processes tini reaps).
set -e
exec /usr/bin/tini -s -- /usr/bin/spark-operator "$@"
