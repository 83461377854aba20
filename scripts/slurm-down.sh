#!/usr/bin/env bash
# Stop the single-node Slurm that scripts/slurm-up.sh started (slurmd, slurmctld, munged), each by
# the pid in its pid file; packages, configuration and the munge key stay for the next slurm-up.
#
#     sudo bash scripts/slurm-down.sh
set -euo pipefail

stop() {  # name, pid file
    local name="$1" pidfile="$2" pid
    if [[ ! -s "$pidfile" ]] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "slurm-down: $name is not running"
        return 0
    fi
    pid="$(cat "$pidfile")"
    kill -TERM "$pid"
    for _ in $(seq 1 100); do  # up to 10 s, then SIGKILL
        kill -0 "$pid" 2>/dev/null || { echo "slurm-down: stopped $name ($pid)"; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    echo "slurm-down: killed $name ($pid): it ignored SIGTERM for 10 s"
}

stop slurmd /run/slurmd.pid
stop slurmctld /run/slurmctld.pid
stop munged /run/munge/munged.pid
