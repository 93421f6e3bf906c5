#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine (root, no systemd), for the study's SLURM tests:
# writes slurm.conf from slurm.conf.in beside this script (this host, its real CPUs and memory),
# starts munged, slurmctld and slurmd, and waits until sinfo shows the node idle. Daemons already
# running are made to apply the file (scontrol reconfigure, or a restart when they run another file),
# and the settings the tests need are checked in the running controller.
# Needs Debian's packages: apt-get install -y slurmctld slurmd slurm-client munge
# usage: bash .ci/slurm/start.sh      (environment: SLURM_CONF, default /etc/slurm/slurm.conf;
#                                      SLURM_STATE, default /var/spool/mopd-slurm)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF="${SLURM_CONF:-/etc/slurm/slurm.conf}"
STATE="${SLURM_STATE:-/var/spool/mopd-slurm}"

for tool in munged munge unmunge slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found; apt-get install -y slurmctld slurmd slurm-client munge" >&2; exit 2; }
done

node="$(slurmd -C | head -n 1)"  # NodeName=<host> CPUs=... RealMemory=...
nodename="${node#NodeName=}"
nodename="${nodename%% *}"
mkdir -p "$(dirname "$CONF")" "$STATE/slurmctld" "$STATE/slurmd"
sed -e "s|@HOST@|$nodename|" -e "s|@STATE@|$STATE|g" -e "s|@NODE@|$node|" -e "s|@NODENAME@|$nodename|" \
    "$HERE/slurm.conf.in" >"$CONF"

if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then  # no munged answering yet
    if [[ ! -s /etc/munge/munge.key ]]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
    chmod 0700 /etc/munge
    chmod 0400 /etc/munge/munge.key
    runuser -u munge -- munged
fi

# running NAME: whether a live (not zombie) process NAME exists
running() {
    pgrep -x -r D,R,S "$1" >/dev/null
}

# setting FILE KEY: KEY's value in a slurm.conf
setting() {
    sed -n "s/^$2=\([^ #]*\).*/\1/p" "$1" | tail -n 1
}

# applied KEY: whether the running controller has KEY as the written file sets it
applied() {
    local want have
    want="$(setting "$CONF" "$1")"
    have="$(scontrol show config 2>/dev/null | sed -n "s/^$1 *= *\([^ ]*\).*/\1/p")"
    [[ -n "$want" && "$have" == "$want" ]]
}

# checked: the settings the tests depend on (KillWait: a requeued job's grace time) and one that
# only this file sets (StateSaveLocation: the controller reads this file, not another slurm.conf)
checked() {
    applied KillWait && applied StateSaveLocation
}

export SLURM_CONF="$CONF"
if running slurmctld; then
    scontrol reconfigure || true
    for _ in $(seq 5); do checked && break; sleep 1; done
    if ! checked; then  # started from another file, or a change reconfigure cannot apply: restart
        echo "restarting SLURM: the running controller does not use $CONF"
        scontrol shutdown || true
        for _ in $(seq 30); do running slurmctld || running slurmd || break; sleep 1; done
    fi
fi
running slurmctld || slurmctld
running slurmd || slurmd

for _ in $(seq 60); do
    if [[ "$(sinfo -h -o %T 2>/dev/null)" == idle ]]; then
        if ! checked; then
            echo "error: the running SLURM controller does not apply $CONF:" \
                "$(scontrol show config | grep -E '^(KillWait|StateSaveLocation) ' | tr -s ' ' | paste -sd ';')" >&2
            exit 1
        fi
        echo "SLURM is up: $(sinfo -h -o '%P %D %c CPUs %T' ), KillWait $(setting "$CONF" KillWait) s (SLURM_CONF=$CONF)"
        exit 0
    fi
    sleep 1
done
echo "error: the SLURM node did not become idle within 60 s; see $STATE/slurmctld.log and $STATE/slurmd.log" >&2
sinfo -N -l >&2 || true
exit 1
