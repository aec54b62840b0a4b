"""The local Kubernetes test bed: a real single-node cluster on this machine, no Docker."""
