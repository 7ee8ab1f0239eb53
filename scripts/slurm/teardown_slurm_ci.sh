#!/usr/bin/env bash
# Stop the daemons started by scripts/slurm/setup_slurm_ci.sh (by PID from their pid files) and remove state.
# PURGE=1 additionally apt-get purges the packages (for a from-scratch re-test).
set -u
stop() {  # $1 = pidfile
  [ -s "$1" ] || return 0
  local pid; pid=$(cat "$1")
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null; echo "[teardown] had to SIGKILL $pid ($1)"
}
stop /run/slurm/slurmd.pid
stop /run/slurm/slurmctld.pid
stop /run/slurm/slurmdbd.pid
stop /run/mysqld/mysqld.pid
stop /run/munge/munged.pid
rm -rf /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm \
       /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf
if [ "${PURGE:-0}" = 1 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq slurmctld slurmd slurm-client slurm-wlm-basic-plugins \
      munge libmunge2 slurmdbd slurm-wlm-mysql-plugin mariadb-server mariadb-server-core mariadb-client mariadb-client-core mariadb-common mysql-common galera-4 >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -qq >/dev/null 2>&1
  rm -rf /var/lib/mysql /etc/munge /etc/slurm /var/lib/munge /var/log/munge /run/munge /run/mysqld
fi
echo "[teardown] done"
