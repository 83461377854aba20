#!/usr/bin/env bash
# Start a real single-node Slurm on this machine (Debian/Ubuntu, as root), for the Slurm tests and
# for trying `--executor slurm` without a cluster:
#
#     sudo bash scripts/slurm-up.sh      # installs slurm-wlm + munge if missing; idempotent
#     python -m benchmark run --grid lowdata --scale smoke --executor slurm --results-dir /tmp/r
#     sudo bash scripts/slurm-down.sh    # stops the daemons this script started
#
# No systemd is needed: munged, slurmctld and slurmd are started directly (containers, CI). The
# node gets this machine's cores and a bit under its memory; one partition, `debug`, the default.
# Exits non-zero with the reason (and the daemons' log tails) when Slurm does not come up, so CI
# fails loudly rather than skipping the Slurm tests.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
LOG_DIR=/var/log/slurm
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
WAIT_S="${SLURM_UP_WAIT_S:-60}"  # how long the node may take to turn idle
HOST="$(hostname -s)"

say() { echo "slurm-up: $*"; }
die() {
    echo "slurm-up: error: $*" >&2
    for log in "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" /var/log/munge/munged.log; do
        if [[ -s "$log" ]]; then
            echo "--- last lines of $log" >&2
            tail -n 15 "$log" >&2
        fi
    done
    exit 1
}

node_state() { sinfo -h -N -n "$HOST" -o %t 2>/dev/null | head -n 1; }

if [[ "$(id -u)" != 0 ]]; then
    die "run as root (it installs packages and starts system daemons): sudo bash $0"
fi

if command -v sinfo >/dev/null && [[ "$(node_state)" == idle ]]; then
    say "already up: $(sinfo -h -o '%P %a %D %t %N')"
    exit 0
fi

# ---- install (retried once: a slow or flaky mirror should not fail CI)
install_packages() {
    # no daemon is started by the packages' scripts (no systemd here; this script starts them)
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            slurm-wlm munge >/dev/null || rc=$?
    if [[ "$own_policy" == 1 ]]; then rm -f "$policy"; fi
    return "$rc"
}
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || die "slurm-wlm is not installed and there is no apt-get here"
    say "installing slurm-wlm and munge (apt)"
    if ! install_packages; then
        say "apt failed; retrying once in 10 s"
        sleep 10
        install_packages || die "apt-get install slurm-wlm munge failed twice (see above)"
    fi
fi

# ---- configuration: this machine as the only node
CPUS="$(nproc)"
MEM_MB="$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
REAL_MB=$((MEM_MB * 9 / 10))  # a bit under the machine's: slurmd drains a node that claims more
mkdir -p "$CONF_DIR" "$LOG_DIR" "$STATE_DIR" "$SPOOL_DIR"
wanted="$(mktemp)"
cat >"$wanted" <<EOF
# written by scripts/slurm-up.sh: a single-node Slurm on $HOST
ClusterName=benchmark
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
# the node is what this file says, whatever slurmd detects (containers report odd topologies)
SlurmdParameters=config_overrides
# a cancelled or requeued task is killed 5 s after its SIGTERM (default 30 s)
KillWait=5
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
NodeName=$HOST CPUs=$CPUS RealMemory=$REAL_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
conf_changed=0
if ! cmp -s "$wanted" "$CONF"; then
    mv "$wanted" "$CONF"
    chmod 644 "$CONF"
    conf_changed=1
    say "wrote $CONF (node $HOST: $CPUS CPUs, ${REAL_MB} MB)"
else
    rm -f "$wanted"
fi

running() {  # pid file names a live process
    [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

# ---- munge, run by root as slurmctld and slurmd are (its files root's too, or it warns)
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile=/etc/munge/munge.key
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    say "created /etc/munge/munge.key"
fi
chmod 400 /etc/munge/munge.key
MUNGE_PID=/run/munge/munged.pid
if ! running "$MUNGE_PID"; then
    say "starting munged"
    chown -R root:root /etc/munge /var/lib/munge /var/log/munge /run/munge
    munged --force --pid-file="$MUNGE_PID" || die "munged did not start"
fi
munge -n | unmunge >/dev/null 2>&1 || die "munge does not work (munge -n | unmunge failed)"

# ---- slurmctld, slurmd
if running /run/slurmctld.pid; then
    if [[ "$conf_changed" == 1 ]]; then scontrol reconfigure || true; fi
else
    say "starting slurmctld"
    slurmctld || die "slurmctld did not start"
fi
if ! running /run/slurmd.pid; then
    say "starting slurmd"
    slurmd || die "slurmd did not start"
fi

# ---- wait for the node
deadline=$((SECONDS + WAIT_S))
resumed=0
while :; do
    state="$(node_state || true)"
    if [[ "$state" == idle ]]; then break; fi
    if [[ "$resumed" == 0 && "$state" =~ ^(down|drain|drng|fail) ]]; then
        # a node left down or drained by an earlier run of the daemons
        scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
        resumed=1
    fi
    if ((SECONDS >= deadline)); then
        die "node $HOST is not idle after ${WAIT_S}s (state: ${state:-no answer from slurmctld}; reason: $(sinfo -h -N -n "$HOST" -o %E 2>/dev/null || true))"
    fi
    sleep 1
done
say "up: $(sinfo -h -o '%P %a %D %t %N')"
