#!/usr/bin/env bash
# Bring up a single-node Slurm cluster (Debian 12 packages, Slurm 22.05) on THIS machine,
# without systemd and without cgroups, for the test of the Slurm profile (tests/test_slurm.py).
# Adapted from the team's recipe (docs/cluster.md, "Testing on a real Slurm"); stop it with
# scripts/slurm/teardown_slurm_ci.sh (kills the daemons by the PIDs in their pid files).
# Run as root.  Env:
#   ACCOUNTING=none      (default) no slurmdbd; sacct does NOT work -> use `--slurm-status-command squeue`
#   ACCOUNTING=slurmdbd  also install mariadb-server + slurmdbd so `sacct` works (plugin default)
#   PARTITION=debug      partition name
set -euo pipefail
ACCOUNTING=${ACCOUNTING:-none}
APT_OPTS=${APT_OPTS:-}   # e.g. "-o Dir::Cache::archives=/some/empty/dir" to force fresh downloads
PARTITION=${PARTITION:-debug}
export DEBIAN_FRONTEND=noninteractive

t0=$(date +%s)
# ---- 1. packages (policy-rc.d / no systemd: postinst cannot start anything, which is what we want)
PKGS="slurmctld slurmd slurm-client munge"
[ "$ACCOUNTING" = slurmdbd ] && PKGS="$PKGS slurmdbd mariadb-server"
# shellcheck disable=SC2086
if dpkg-query -W -f='${Status}\n' $PKGS 2>/dev/null | grep -vq "install ok installed" \
   || [ "$(dpkg-query -W -f='${Status}\n' $PKGS 2>/dev/null | wc -l)" -lt "$(wc -w <<<"$PKGS")" ]; then
  NEED_APT=1
else
  NEED_APT=0; echo "[setup] packages already installed"
fi
[ "$NEED_APT" = 1 ] && apt-get $APT_OPTS update -qq
# Keep postinst scripts from auto-starting munge/slurm*/mariadb (Docker's debian images already ship
# /usr/sbin/policy-rc.d = "exit 101"; add a temporary one if it is missing).
TMP_POLICY=0
if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; TMP_POLICY=1; fi
[ "$NEED_APT" = 1 ] && apt-get $APT_OPTS install -y -qq --no-install-recommends $PKGS >/dev/null
[ "$TMP_POLICY" = 1 ] && rm -f /usr/sbin/policy-rc.d
t1=$(date +%s); echo "[setup] packages installed in $((t1-t0)) s"

# ---- 2. config
HOST=$(hostname -s)
# slurmd -C prints "NodeName=<host> CPUs=.. Boards=.. SocketsPerBoard=.. CoresPerSocket=.. ThreadsPerCore=.. RealMemory=.."
NODELINE=$(slurmd -C | head -n1)
MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$NODELINE")
MEM=$(( MEM * 90 / 100 ))            # leave headroom; slurmd drains the node if it has LESS than configured
NODELINE=$(sed "s/RealMemory=[0-9]*/RealMemory=$MEM/" <<<"$NODELINE")
if [ "$ACCOUNTING" = slurmdbd ]; then
  ACCT_LINES=$'AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=localhost\nJobAcctGatherType=jobacct_gather/linux'
else
  ACCT_LINES=$'AccountingStorageType=accounting_storage/none\nJobAcctGatherType=jobacct_gather/none'
fi
mkdir -p /etc/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=${HOST}(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=slurm
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# no cgroups: works in containers / without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# keep finished jobs visible to 'squeue --states=all' for 10 min (plugin's squeue mode needs >= 3*init_seconds)
MinJobAge=600
JobCompType=jobcomp/none
${ACCT_LINES}
${NODELINE} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=${PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm /run/munge
chown slurm:slurm /var/spool/slurmctld /var/log/slurm /run/slurm
chown munge:munge /run/munge

# ---- 3. munge (Debian's postinst already generated /etc/munge/munge.key)
if [ -s /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; then
  echo "[setup] munged already running"
else
  runuser -u munge -- /usr/sbin/munged
fi
for i in $(seq 50); do munge -n | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
munge -n | unmunge >/dev/null

# ---- 4. optional accounting: mariadb + slurmdbd
if [ "$ACCOUNTING" = slurmdbd ]; then
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  setsid /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 \
      --pid-file=/run/mysqld/mysqld.pid --socket=/run/mysqld/mysqld.sock \
      >/var/log/slurm/mariadbd.out 2>&1 </dev/null &
  for i in $(seq 100); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 0.2; done
  mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
              GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  cat > /etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=slurm
PidFile=/run/slurm/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
CONF
  chown slurm:slurm /etc/slurm/slurmdbd.conf; chmod 600 /etc/slurm/slurmdbd.conf   # slurmdbd refuses other modes
  /usr/sbin/slurmdbd
  for i in $(seq 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
fi

# ---- 5. slurmctld + slurmd (both daemonize; pid files in /run/slurm)
/usr/sbin/slurmctld
/usr/sbin/slurmd
for i in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 0.2; done
sinfo
[ "$ACCOUNTING" = slurmdbd ] && sacctmgr -n list cluster format=cluster,controlhost,controlport
# ---- 6. smoke test
srun -N1 -t 1 true
t2=$(date +%s); echo "[setup] daemons up + smoke test in $((t2-t1)) s; total $((t2-t0)) s"
