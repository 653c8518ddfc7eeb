# One transformers-AdamW step with numpy, in place (out= everywhere), timed; prints one JSON line.
import json, sys, time, resource
import numpy as np

n = int(sys.argv[1]); reps = int(sys.argv[2])
b1, b2, eps, lr, wd = 0.9, 0.999, 1e-6, 1e-3, 0.01
i = np.arange(n, dtype=np.float32)
p = (np.sin(i) * 0.1).astype(np.float32); g = (np.cos(i) * 0.01).astype(np.float32)
m = np.zeros(n, np.float32); v = np.zeros(n, np.float32); tmp = np.empty(n, np.float32)
times = []
for r in range(reps + 1):
    t = r + 1
    step = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    t0 = time.perf_counter()
    m *= b1; np.multiply(g, 1 - b1, out=tmp); m += tmp
    v *= b2; np.multiply(g, g, out=tmp); tmp *= (1 - b2); v += tmp
    np.sqrt(v, out=tmp); tmp += eps; np.divide(m, tmp, out=tmp); tmp *= step; p -= tmp
    p *= (1 - lr * wd)
    if r > 0: times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print(json.dumps({"impl": "numpy", "n": n, "median_ms": times[len(times) // 2], "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
