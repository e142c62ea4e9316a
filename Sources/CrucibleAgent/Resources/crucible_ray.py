"""Runs one member of a Crucible `ray` job: rank 0 starts a Ray head and, once every member's node has joined, runs
the job's entrypoint against it; the other ranks start Ray worker nodes that join the head and leave when it stops.

Run by the agent with the Python that has Ray: `python crucible_ray.py ENTRYPOINT [ARGS...]`. The coordinator's
assignment arrives in CRUCIBLE_RANK, CRUCIBLE_WORLD_SIZE, CRUCIBLE_PEERS (host:port by rank) and CRUCIBLE_PEER_PORT;
rank 0's peer port is the head's GCS port. Each node gets its own short temp dir and its own ports, so several
members (or agents) can share a host, and every Ray process is stopped through its own process group — never with
`ray stop`, which would stop every Ray process on the machine.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

env = os.environ
rank = int(env.get("CRUCIBLE_RANK", "0"))
world = int(env.get("CRUCIBLE_WORLD_SIZE", "1"))
peers = [p.rsplit(":", 1) for p in env.get("CRUCIBLE_PEERS", "").split(",") if p]
ray = os.path.join(os.path.dirname(sys.executable), "ray")
cpus = env.get("OMP_NUM_THREADS", "1")
JOIN_TIMEOUT_S = 180


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def say(text):
    print(f"crucible-ray rank {rank}/{world}: {text}", flush=True)


def stop(process):
    """The node's whole process group: SIGTERM, then SIGKILL after a grace (a head may ignore SIGTERM)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=8)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


if peers:
    head_host, head_port = peers[0][0], int(peers[0][1])
    own_host = peers[rank][0]
else:
    head_host, head_port, own_host = "127.0.0.1", free_port(), "127.0.0.1"

# Unix socket paths must stay under 108 bytes: a short temp dir, not one under the run's folder.
temp = tempfile.mkdtemp(prefix="cr-ray-")
worker_base = free_port()
ports = [
    "--node-ip-address", own_host, "--temp-dir", temp, "--num-cpus", cpus, "--object-store-memory", str(100 * 1024 * 1024),
    "--node-manager-port", str(free_port()), "--object-manager-port", str(free_port()),
    "--min-worker-port", str(worker_base), "--max-worker-port", str(worker_base + 64),
    "--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
    "--metrics-export-port", str(free_port()), "--runtime-env-agent-port", str(free_port()),
]
# A node the GCS misses health checks from is declared dead; on a busy machine a live node can miss several in a row,
# so it is given about three minutes rather than Ray's default fifteen seconds.
child_env = dict(env, RAY_USAGE_STATS_ENABLED="0", RAY_health_check_failure_threshold="60")


def stopped(signum, frame):
    """The agent stops the run with SIGTERM: leave through `finally`, which stops this member's Ray node. Python's
    default would exit at once and leave the node, in a session of its own, running on the machine."""
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, stopped)
code = 1
node = None
try:
    if rank == 0:
        node = subprocess.Popen(
            [ray, "start", "--head", "--block", "--port", str(head_port), "--include-dashboard", "false"] + ports,
            env=child_env, start_new_session=True,
        )
        import ray as ray_api

        deadline = time.time() + JOIN_TIMEOUT_S
        while not answers(head_host, head_port):
            if node.poll() is not None or time.time() > deadline:
                raise SystemExit(f"the Ray head did not start (status {node.poll()})")
            time.sleep(0.5)
        ray_api.init(address=f"{head_host}:{head_port}", logging_level="ERROR")
        while len([n for n in ray_api.nodes() if n["Alive"]]) < world:
            if time.time() > deadline:
                raise SystemExit(f"only {len(ray_api.nodes())} of {world} Ray nodes joined in {JOIN_TIMEOUT_S} s")
            time.sleep(0.5)
        say(f"{world} Ray nodes up at {head_host}:{head_port}; running {' '.join(sys.argv[1:])}")
        ray_api.shutdown()
        code = subprocess.call(sys.argv[1:], env=dict(child_env, RAY_ADDRESS=f"{head_host}:{head_port}"))
        say(f"entrypoint exited with status {code}")
        stop(node)
    else:
        deadline = time.time() + JOIN_TIMEOUT_S
        while not answers(head_host, head_port):
            if time.time() > deadline:
                raise SystemExit(f"the Ray head at {head_host}:{head_port} never answered")
            time.sleep(0.5)
        node = subprocess.Popen([ray, "start", "--block", "--address", f"{head_host}:{head_port}"] + ports, env=child_env, start_new_session=True)
        say(f"joined the Ray head at {head_host}:{head_port}")
        # The member's work is done when the head is gone: the entrypoint finished on rank 0.
        silent = 0
        while silent < 3:
            if node.poll() is not None and answers(head_host, head_port):
                raise SystemExit(f"this Ray node stopped (status {node.returncode}) while the head still runs")
            silent = 0 if answers(head_host, head_port) else silent + 1
            time.sleep(1)
        say("the head stopped; leaving")
        stop(node)
        code = 0
finally:
    if node is not None:
        stop(node)
    shutil.rmtree(temp, ignore_errors=True)
sys.exit(code)
