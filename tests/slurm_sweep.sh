#!/bin/bash
# A sweep on a real Slurm: a one-node cluster on localhost (munged, slurmctld,
# slurmd; state, logs and config in a temporary folder, nothing in /etc/slurm),
# a job array from `pith sweep --emit-slurm` submitted with sbatch.
#   1. submit; cancel half of the array tasks (scancel) before they start
#   2. the rest finish: exactly their rows are in the results table
#   3. submit the same script again: the cancelled points run, the finished
#      ones are skipped; every point's row is there, none twice
# Usage: tests/slurm_sweep.sh [PITH]   (needs root for the daemons, or a
# running munged and a user allowed to start slurmctld/slurmd)
set -euo pipefail
PITH=$(realpath "${1:-build/pith}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d /tmp/pith-slurm.XXXXXX)
H=$(hostname -s)
export SLURM_CONF=$D/slurm.conf
mkdir -p "$D/state" "$D/spool" "$D/log"

stop_cluster() {
    for p in "$D/slurmd.pid" "$D/slurmctld.pid"; do
        [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
    done
    sleep 1
}
fail() {
    echo "slurm test FAILED: $*" >&2
    echo "--- slurmctld log" >&2; tail -20 "$D/log/slurmctld.log" >&2 || true
    echo "--- slurmd log" >&2; tail -20 "$D/log/slurmd.log" >&2 || true
    for f in "$D"/sweep/logs/*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }; done
    stop_cluster
    exit 1
}
trap 'stop_cluster; rm -rf "$D"' EXIT

# Slurm refuses to start a second controller on the same ports.
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
    echo "slurm test: a slurmctld or slurmd is already running here; stop it first" >&2
    exit 1
fi

cat > "$SLURM_CONF" <<EOF
ClusterName=pith-ci
SlurmctldHost=$H(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$H NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=ci Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF

if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
    [ -f /etc/munge/munge.key ] || fail "no /etc/munge/munge.key (is munge installed?)"
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u munge -- /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force
    else
        /usr/sbin/munged
    fi
fi
munge -n | unmunge >/dev/null || fail "munge does not work"
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
for _ in $(seq 30); do
    sinfo -h -o %t 2>/dev/null | grep -q idle && break
    sleep 1
done
sinfo -h -o %t | grep -q idle || fail "the node did not come up"

# 6 points: 3 learning rates x 2 seeds, each a short run (1 epoch on 3,000 images).
RESULTS=$D/runs.tsv
(cd "$ROOT" && "$PITH" sweep experiments/fmnist-baseline.yaml --param train.lr=0.02,0.05,0.1 --seeds 2 \
    --set train.epochs=1 --set dataset.subset=3000 \
    --runs "$D/runs" --results "$RESULTS" --emit-slurm "$D/sweep") >/dev/null
mapfile -t IDS < <(sed -n 's/.*# run \([0-9a-fs-]*\)$/\1/p' "$D/sweep/sweep.sbatch")
[ "${#IDS[@]}" -eq 6 ] || fail "the sbatch script has ${#IDS[@]} points, not 6"

wait_job() {
    for _ in $(seq 600); do
        [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
        sleep 1
    done
    fail "job $1 did not finish in 10 minutes"
}
rows_of() { awk -F'\t' -v id="$1" 'NR > 1 && $2 == id' "$RESULTS" 2>/dev/null | wc -l; }
check_rows() { # check_rows FIRST LAST EXPECTED: rows for points FIRST..LAST
    for i in $(seq "$1" "$2"); do
        n=$(rows_of "${IDS[$i]}")
        [ "$n" -eq "$3" ] || fail "point $i (run ${IDS[$i]}): $n rows in the results table, expected $3"
    done
}

t0=$(date +%s)
JOB=$(sbatch --parsable --hold "$D/sweep/sweep.sbatch")
# cancel half of the tasks while the array is held, then let the rest run
scancel "${JOB}_[3-5]" || fail "scancel"
scontrol release "$JOB" || fail "scontrol release"
wait_job "$JOB"
check_rows 0 2 1
check_rows 3 5 0
echo "slurm: job $JOB: points 0-2 ran, 3-5 cancelled, $(($(wc -l < "$RESULTS") - 1)) rows"

JOB2=$(sbatch --parsable "$D/sweep/sweep.sbatch")
wait_job "$JOB2"
check_rows 0 5 1
for i in 0 1 2; do
    grep -q "already in" "$D/sweep/logs/${JOB2}_$i.out" || fail "point $i ran again on re-submission"
done
rows=$(($(wc -l < "$RESULTS") - 1))
[ "$rows" -eq 6 ] || fail "$rows rows, expected 6"
bad=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") s = i } NR > 1 && $s != "ok"' "$RESULTS")
[ -z "$bad" ] || fail "rows without status ok: $bad"
echo "slurm: job $JOB2: re-submitted, points 3-5 ran, 0-2 skipped; 6 rows, each point once ($(($(date +%s) - t0)) s)"
echo "slurm sweep test passed"
