# A throwaway one-node Slurm on localhost for the e2e tests: munged, slurmctld and slurmd
# started from a generated config in a temporary folder, on free ports, stopped by
# slurm_cluster_stop (call it from an EXIT trap). Source this file, then:
#   slurm_cluster_start DIR     # exports SLURM_CONF; returns once the node is idle
#   slurm_cluster_stop          # stops the daemons started here (by their pids)
# slurm_cluster_missing prints what is not installed (empty when everything is).

slurm_cluster_missing() {
  local missing=""
  for tool in munged slurmctld slurmd sbatch srun squeue scontrol; do
    command -v "$tool" >/dev/null 2>&1 || missing+=" $tool"
  done
  echo "${missing# }"
}

# A TCP port on 127.0.0.1 that was free a moment ago.
slurm_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

slurm_cluster_start() {
  local dir=$1
  SLURM_TEST_DIR=$dir
  mkdir -p "$dir"/{munge,state,spool/localhost,log}
  chmod 755 "$dir" "$dir/munge"
  # munge: a fresh key and socket of our own, leaving any system munged alone.
  dd if=/dev/urandom bs=1 count=1024 of="$dir/munge/munge.key" status=none
  chmod 400 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed" || { echo "munged did not start" >&2; return 1; }
  local ctld_port slurmd_port cpus mem
  ctld_port=$(slurm_free_port)
  slurmd_port=$(slurm_free_port)
  cpus=${SLURM_TEST_CPUS:-4}
  mem=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
  cat > "$dir/slurm.conf" <<CONF
ClusterName=dmtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
SchedulerParameters=sched_interval=1
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -i -f "$dir/slurm.conf" || { echo "slurmctld did not start" >&2; cat "$dir/log/slurmctld.log" >&2; return 1; }
  slurmd -f "$dir/slurm.conf" -N localhost || { echo "slurmd did not start" >&2; cat "$dir/log/slurmd.log" >&2; return 1; }
  local i
  for i in $(seq 1 60); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qx 'idle'; then return 0; fi
    sleep 1
  done
  echo "the Slurm node did not become idle within 60 s:" >&2
  sinfo >&2 || true
  tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
  return 1
}

slurm_cluster_stop() {
  local dir=${SLURM_TEST_DIR:-}
  [[ -n $dir ]] || return 0
  local pidfile pid
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    [[ -s $pidfile ]] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
