#!/usr/bin/env bash
# Stop the localhost cluster that scripts/slurm/start.sh started from STATE_DIR: cancel its
# jobs, stop each daemon by the pid recorded in STATE_DIR/pids (never by name), and remove
# /etc/slurm/slurm.conf (and /etc/slurm itself) only where start.sh created them for this
# STATE_DIR. Safe to rerun. STATE_DIR itself (logs, database) is left for inspection.
set -uo pipefail

STATE=${1:?usage: stop.sh STATE_DIR}
STATE=$(cd "$STATE" 2>/dev/null && pwd) || { echo "stop.sh: no folder $1" >&2; exit 0; }
MARKER="# deepcis-localhost-slurm state=$STATE "
ETC_CONF=/etc/slurm/slurm.conf

if [ -s "$STATE/pids" ] && [ -f "$STATE/etc/slurm.conf" ]; then
    # cancel what is still queued or running, so no slurmstepd outlives slurmd
    SLURM_CONF=$STATE/etc/slurm.conf timeout 10 scancel --full --cluster=deepcis --user=root 2>/dev/null || true
fi
if [ -f "$STATE/pids" ]; then
    # reverse start order: slurmd, slurmctld, slurmdbd, mariadbd, munged
    tac "$STATE/pids" | while read -r name pid; do
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "stop.sh: $name (pid $pid) ignored TERM for 10 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    done
    mv "$STATE/pids" "$STATE/pids.stopped"
fi
MUNGE=$(cat "$STATE/munge_dir" 2>/dev/null)
if [[ "$MUNGE" == /tmp/deepcis-munge.* ]] && [ -d "$MUNGE" ]; then
    cp "$MUNGE/munged.log" "$STATE/log/munged.log" 2>/dev/null
    rm -rf "$MUNGE"  # the key and socket of this cluster's munged (made by start.sh)
    rm -f "$STATE/munge_dir"
fi
if [ -f "$ETC_CONF" ] && head -1 "$ETC_CONF" | grep -qF "$MARKER"; then
    rm -f "$ETC_CONF"
    if [ "$(cat /etc/slurm/.deepcis-created-by 2>/dev/null)" = "$STATE" ]; then
        rm -f /etc/slurm/.deepcis-created-by
        rmdir /etc/slurm 2>/dev/null || true
    fi
fi
echo "stop.sh: stopped the cluster of $STATE"
