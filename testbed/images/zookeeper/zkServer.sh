#!/bin/bash
# zkServer.sh of the ZooKeeper stand-in: `start-foreground` only, as the image runs it.
# The classpath holds the jars and the configuration folder, so a logback.xml there
# configures logging (without one, logback logs everything at DEBUG).
set -euo pipefail
case "${1:-}" in
  start-foreground)
    cfgdir="${ZOOCFGDIR:-/conf}"
    home="$(cd "$(dirname "$0")/.." && pwd)"
    # shellcheck disable=SC2086
    exec java -Dzookeeper.log.dir="${ZOO_LOG_DIR:-/logs}" ${JVMFLAGS:-} \
      -cp "$home/lib/*:$cfgdir" \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$cfgdir/zoo.cfg"
    ;;
  *)
    echo "zkServer.sh (stand-in): only start-foreground is supported" >&2
    exit 2
    ;;
esac
