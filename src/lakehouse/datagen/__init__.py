"""Source data for the lake: TPC-H snapshots, change batches and the tutorial's users."""
