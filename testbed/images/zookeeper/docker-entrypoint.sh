#!/bin/bash
# The ZooKeeper stand-in's entrypoint, written for this project to behave as the official
# image's is documented to:
#  * started as root, it hands the data folders to the zookeeper user and runs as that user
#    (here the image runs as zookeeper already, as the stacks do);
#  * without $ZOO_CONF_DIR/zoo.cfg, it writes one from the ZOO_* variables;
#  * without $ZOO_DATA_DIR/myid, it writes ZOO_MY_ID there - into a folder it does not
#    create, which must therefore exist.
set -euo pipefail

if [[ "${1:-}" == zkServer.sh && "$(id -u)" == 0 ]]; then
  chown -R zookeeper "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"
  exec setpriv --reuid zookeeper --regid zookeeper --init-groups "$0" "$@"
fi

config="$ZOO_CONF_DIR/zoo.cfg"
if [[ ! -f "$config" ]]; then
  cat >> "$config" <<CFG
dataDir=$ZOO_DATA_DIR
dataLogDir=$ZOO_DATA_LOG_DIR
tickTime=$ZOO_TICK_TIME
initLimit=$ZOO_INIT_LIMIT
syncLimit=$ZOO_SYNC_LIMIT
autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT
autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL
maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS
standaloneEnabled=$ZOO_STANDALONE_ENABLED
admin.enableServer=$ZOO_ADMINSERVER_ENABLED
CFG
  for server in ${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do
    echo "$server" >> "$config"
  done
  if [[ -n "${ZOO_4LW_COMMANDS_WHITELIST:-}" ]]; then
    echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST" >> "$config"
  fi
  for extra in ${ZOO_CFG_EXTRA:-}; do
    echo "$extra" >> "$config"
  done
fi

if [[ ! -f "$ZOO_DATA_DIR/myid" ]]; then
  echo "${ZOO_MY_ID:-1}" > "$ZOO_DATA_DIR/myid"
fi

exec "$@"
