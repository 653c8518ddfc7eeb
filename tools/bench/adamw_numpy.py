# numpy AdamW (transformers semantics) on N float32 params, in place (out= everywhere, one scratch buffer), served
# over the bench worker protocol (tools/bench/common.ts): "@@bench {json}" reply lines, JSON requests on stdin.
# Usage: python3 tools/bench/adamw_numpy.py <N>
import json, sys, time, resource


def reply(obj):
    sys.stdout.write("@@bench " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def rss_now():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main():
    try:
        import numpy as np
    except ImportError as e:
        reply({"ready": False, "error": "numpy is not installed: %s" % e})
        return
    n = int(sys.argv[1])
    b1, b2, eps, lr, wd = 0.9, 0.999, 1e-6, 1e-3, 0.01
    baseline = rss_now()
    i = np.arange(n, dtype=np.float64)
    p = (np.sin(i) * 0.1).astype(np.float32)
    g = (np.cos(i) * 0.01).astype(np.float32)
    del i
    m = np.zeros(n, np.float32)
    v = np.zeros(n, np.float32)
    tmp = np.empty(n, np.float32)
    m.fill(0); v.fill(0); tmp.fill(0)  # fault the pages in
    state = {"t": 0, "faults": 0, "timed": 0, "runs": 0}  # the first run request is the warm-up: not counted

    def step():
        state["t"] += 1
        t = state["t"]
        step_size = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        np.multiply(m, b1, out=m); np.multiply(g, 1 - b1, out=tmp); np.add(m, tmp, out=m)
        np.multiply(v, b2, out=v); np.multiply(g, g, out=tmp); np.multiply(tmp, 1 - b2, out=tmp); np.add(v, tmp, out=v)
        np.sqrt(v, out=tmp); np.add(tmp, eps, out=tmp); np.divide(m, tmp, out=tmp); np.multiply(tmp, step_size, out=tmp)
        np.subtract(p, tmp, out=p); np.multiply(p, 1 - lr * wd, out=p)

    reply({"ready": True, "impl": "numpy", "n": n, "numpy": np.__version__})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        op = req.get("op")
        if op == "exit":
            break
        if op == "run":
            times = []
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            n_steps = int(req.get("steps", 1))
            for _ in range(n_steps):
                t0 = time.perf_counter()
                step()
                times.append((time.perf_counter() - t0) * 1e3)
            if state["runs"] > 0:
                state["faults"] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
                state["timed"] += n_steps
            state["runs"] += 1
            reply({"times": times})
        elif op == "info":
            reply({"peakRss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss": rss_now(),
                   "baselineRss": baseline, "checksum": float(p[:4096].astype(np.float64).sum()), "steps": state["t"],
                   "faultsPerStep": state["faults"] / max(1, state["timed"])})
        else:
            reply({"error": "unknown op %s" % op})


main()
