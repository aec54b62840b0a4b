"""Running the lakehouse on one machine: a MinIO server process and local Spark."""
