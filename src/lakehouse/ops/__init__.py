"""Operating a deployed lakehouse from a workstation: tools, kind, images, Pulumi, the cluster.

Used by the CLI; each module imports its heavy dependencies (the Kubernetes client, the
Pulumi Automation API) only when called.
"""
