"""Backup and restore of a whole lakehouse, and of one table's history (docs/recovery.md)."""
