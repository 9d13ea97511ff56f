#!/usr/bin/env bash
# Start a single-node SLURM cluster on localhost for tests and demos (NOT for production):
# munged, a private MariaDB (127.0.0.1, private port and socket, data in STATE_DIR),
# slurmdbd (so that `sacct`, which snakemake-executor-plugin-slurm polls, works), slurmctld and
# slurmd. Every config, key, log and database lives in STATE_DIR; ports are picked free.
#
#   scripts/slurm/start.sh STATE_DIR [GPUS]     # then: scripts/slurm/stop.sh STATE_DIR
#
# GPUS (default 2): placeholder GPUs the node advertises through GRES, so that jobs asking for
# `gpu` resources schedule. They are empty files, not devices: for testing only.
#
# /etc/slurm/slurm.conf must exist (the plugin's job step strips SLURM_CONF before its inner
# srun; ../docs/cluster.md). It is written only when absent or when it is ours (first line is
# the marker below); stop.sh removes it again. Daemon pids go to STATE_DIR/pids and are stopped
# by pid. Needs root (Debian packages, munge user) and Debian 12's slurm-wlm 22.05.
set -euo pipefail

STATE=${1:?usage: start.sh STATE_DIR [GPUS]}
GPUS=${2:-2}
MARKER="# deepcis-localhost-slurm"
ETC_CONF=/etc/slurm/slurm.conf

die() { echo "start.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (daemons, munge user, /etc/slurm/slurm.conf)"
if [ -e "$ETC_CONF" ]; then
    head -1 "$ETC_CONF" | grep -q "^$MARKER" ||
        die "$ETC_CONF exists and is not ours (no '$MARKER' first line): refusing to replace it"
    # ours, but maybe another cluster of ours is still up: its daemons would lose their clients
    other=$(head -1 "$ETC_CONF" | sed -n 's/^# deepcis-localhost-slurm state=\([^ ]*\) .*/\1/p')
    if [ -n "$other" ] && [ -s "$other/pids" ]; then
        while read -r name pid; do
            kill -0 "$pid" 2>/dev/null && die "a cluster from $other is running ($name, pid $pid): stop.sh it first"
        done <"$other/pids"
    fi
fi

# Debian packages, installed only when missing
missing=()
for pair in slurmctld:slurmctld slurmd:slurmd sacct:slurm-client slurmdbd:slurmdbd munged:munge \
    mariadbd:mariadb-server; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
    echo "start.sh: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
[ ! -s "$STATE/pids" ] || die "$STATE/pids exists: a cluster from this folder may still run (stop.sh first)"
chmod 755 "$STATE"
mkdir -p "$STATE"/{etc,ctld,spool,log,gpu}
: >"$STATE/pids"
record() { echo "$1 $2" >>"$STATE/pids"; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local t=$1 what=$2; shift 2
    for _ in $(seq $((t * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    die "timed out after ${t}s waiting for $what (logs in $STATE/log)"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pid_alive() { kill -0 "$1" 2>/dev/null; }

# munge: a private key and socket, daemon as user munge. Its folder is made under /tmp, as
# STATE_DIR may sit below folders the munge user cannot enter (pytest's are 0700); stop.sh
# removes it (its path is in STATE_DIR/munge_dir).
MUNGE=$(mktemp -d /tmp/deepcis-munge.XXXXXX)
echo "$MUNGE" >"$STATE/munge_dir"
chown munge:munge "$MUNGE"
chmod 755 "$MUNGE"  # clients need execute permission to reach the socket
MUNGE_SOCKET=$MUNGE/munge.socket
runuser -u munge -- mungekey --create --keyfile="$MUNGE/munge.key"
runuser -u munge -- munged --key-file="$MUNGE/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" --seed-file="$MUNGE/munged.seed" </dev/null
wait_for 10 munged test -s "$MUNGE/munged.pid"
record munged "$(cat "$MUNGE/munged.pid")"
wait_for 10 "munge socket" test -S "$MUNGE_SOCKET"

# MariaDB: private data dir, socket and port, bound to 127.0.0.1 only
DB_PORT=$(free_port)
DB_PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
DB_SOCKET=$STATE/mysql.sock
mariadb-install-db --no-defaults --datadir="$STATE/mysql" --user=root --skip-test-db \
    --auth-root-authentication-method=socket >"$STATE/log/mariadb-install.log" 2>&1
mariadbd --no-defaults --datadir="$STATE/mysql" --socket="$DB_SOCKET" --port="$DB_PORT" \
    --bind-address=127.0.0.1 --skip-name-resolve --user=root --pid-file="$STATE/mysql.pid" \
    --log-error="$STATE/log/mariadb.log" --innodb-buffer-pool-size=64M >"$STATE/log/mariadb.out" 2>&1 </dev/null &
record mariadbd $!
wait_for 30 mariadb timeout 5 mariadb --no-defaults -S "$DB_SOCKET" -u root -e "SELECT 1"
mariadb --no-defaults -S "$DB_SOCKET" -u root -e "
    CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"

# SLURM configuration
CTLD_PORT=$(free_port)
SLURMD_PORT=$(free_port)
DBD_PORT=$(free_port)
NCPU=$(nproc)
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
GPU_FILES=""
for i in $(seq 0 $((GPUS - 1))); do
    : >"$STATE/gpu/placeholder$i"
    GPU_FILES+="NodeName=localhost Name=gpu File=$STATE/gpu/placeholder$i"$'\n'
done
GRES_NODE=""
((GPUS > 0)) && GRES_NODE="Gres=gpu:$GPUS"

cat >"$STATE/etc/slurm.conf" <<CONF
$MARKER state=$STATE (scripts/slurm/start.sh; removed by scripts/slurm/stop.sh)
ClusterName=deepcis
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=600
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
# the munge socket for connections to slurmdbd (AuthInfo covers the others)
AccountingStoragePass=$MUNGE_SOCKET
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
# keep sbatch --comment (the executor plugin writes rule_<rule>_wildcards_<...> there)
AccountingStoreFlags=job_comment
JobAcctGatherFrequency=5
GresTypes=gpu
NodeName=localhost NodeHostname=localhost CPUs=$NCPU RealMemory=$MEM_MB $GRES_NODE State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
printf '%s' "$GPU_FILES" >"$STATE/etc/gres.conf"
cat >"$STATE/etc/slurmdbd.conf" <<CONF
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
LogFile=$STATE/log/slurmdbd.log
PidFile=$STATE/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
CONF
chmod 600 "$STATE/etc/slurmdbd.conf"

# /etc/slurm/slurm.conf for clients and job steps (see the header)
if [ ! -d /etc/slurm ]; then
    mkdir -p /etc/slurm
    echo "$STATE" >/etc/slurm/.deepcis-created-by
fi
cp "$STATE/etc/slurm.conf" "$ETC_CONF"
export SLURM_CONF=$STATE/etc/slurm.conf

slurmdbd -D >"$STATE/log/slurmdbd.out" 2>&1 </dev/null &
record slurmdbd $!
wait_for 30 slurmdbd timeout 5 sacctmgr -n list cluster
sacctmgr -i add cluster deepcis >/dev/null 2>&1 || true
slurmctld -D -c -i >"$STATE/log/slurmctld.out" 2>&1 </dev/null &
record slurmctld $!
wait_for 30 slurmctld timeout 5 scontrol ping
slurmd -D -N localhost >"$STATE/log/slurmd.out" 2>&1 </dev/null &
record slurmd $!
node_idle() { [ "$(timeout 5 sinfo -h -n localhost -o %T)" = idle ]; }
wait_for 30 "node localhost idle" node_idle
for name in munged mariadbd slurmdbd slurmctld slurmd; do
    pid=$(awk -v n="$name" '$1 == n {print $2}' "$STATE/pids")
    pid_alive "$pid" || die "$name (pid $pid) is not running (logs in $STATE/log)"
done
echo "start.sh: cluster 'deepcis' up: $NCPU CPUs, $MEM_MB MB, $GPUS placeholder GPU(s); state in $STATE"
