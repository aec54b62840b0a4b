"""The pure core: lake catalog, version matrix, shared names, typed stack configuration.

Nothing here touches a network, a cluster or Spark. ``catalog``, ``versions``, ``names`` and
``errors`` use the standard library only: the job image imports them on its own python3.
"""
