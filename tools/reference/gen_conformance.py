#!/usr/bin/env python3
"""Independent reference generator for extra conformance cases (format: ../shared/conformance/FORMAT.md).

Usage:
    python3 tools/reference/gen_conformance.py [--out test/conformance/cases-extra]
    python3 tools/reference/gen_conformance.py --check-shipped ../shared/conformance/cases

The first form (re)writes one JSON file per kind/type into --out, deterministically (fixed seeds). The second form
recomputes every case of the shipped suite from its inputs with the ports below and reports the largest deviation
from the shipped expectations in units of the case tolerance (a check of these ports against an independent
implementation).

Only python3 + numpy. The math is a port, written from shared/reference/optimizer-semantics.md and the upstream
sources it names, of:
  * transformers `optimization.py` (schedules, get_scheduler, AdamW, Adafactor) — float64 schedule multipliers;
    the optimizers as the float32 torch kernel sequences they execute (hyperparameters in float64, rounded once
    when they enter a kernel; add_(alpha)/addcmul_/lerp_ fused as on x86 CPU, addcdiv_ not fused);
  * torch `AdamW` (`_single_tensor_adam(w)`), torch `ReduceLROnPlateau` (float64);
  * transformers `optimization_tf.py` (WarmUp, create_optimizer, AdamWeightDecay, GradientAccumulator) with Keras
    `PolynomialDecay`, legacy Keras `Adam` (`ApplyAdam` / `ApplyAdamWithAmsgrad` kernels), Keras clipnorm /
    global_clipnorm — all float32, hyperparameters cast to float32 first;
  * ONNX Runtime `com.microsoft::AdamWOptimizer` CPU kernel (float32);
  * ONNX `ai.onnx.preview.training::Adam` (float32 inputs and attributes).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from typing import Any, Callable

import numpy as np

F32 = np.float32
FORMAT = "onnx-train/conformance@1"

# Tolerances, as the shipped cases use them (semantics §9).
TOL_ADAM = {"rtol": 1e-5, "atol_rel_to_tensor_max": 5e-6}
TOL_ADAFACTOR = {"rtol": 1e-4, "atol_rel_to_tensor_max": 1e-5}
TOL_SCHEDULE = {"rtol": 2e-6, "atol": 5e-6}
TOL_PLATEAU = {"rtol": 1e-12, "atol": 0.0}
TOL_ACCUMULATOR = {"rtol": 1e-6, "atol": 0.0}


# ------------------------------------------------------------------------------------------------------------------
# float32 helpers

def f32(x: Any) -> Any:
    """Round to float32 (scalar or array)."""
    if isinstance(x, np.ndarray):
        return x.astype(np.float32)
    return np.float32(x)


def fma32(a: Any, b: Any, c: Any) -> np.ndarray:
    """float32 fused multiply-add a*b + c (one rounding; exact product in float64, one extra rounding is harmless)."""
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(np.float32)


def sum64(x: np.ndarray, axis=None, keepdims=False) -> np.ndarray:
    return np.sum(np.asarray(x, np.float64), axis=axis, keepdims=keepdims)


def mean32(x: np.ndarray, axis: int, keepdims=False) -> np.ndarray:
    """A float32 mean: computed exactly (float64) and rounded once."""
    return np.mean(np.asarray(x, np.float64), axis=axis, keepdims=keepdims).astype(np.float32)


def norm32(x: np.ndarray) -> np.float32:
    return F32(math.sqrt(float(sum64(np.square(np.asarray(x, np.float64))))))


def jf32(x: Any) -> Any:
    """float32 value(s) as JSON numbers: the shortest decimal that rounds to that float32."""
    if isinstance(x, np.ndarray):
        return [jf32(v) for v in x.reshape(-1)]
    if isinstance(x, (list, tuple)):
        return [jf32(v) for v in x]
    v = F32(x)
    if not np.isfinite(v):
        raise ValueError(f"non-finite float32 value {v}")
    s = np.format_float_positional(v, unique=True, trim="-") if 1e-4 <= abs(v) < 1e16 or v == 0 \
        else np.format_float_scientific(v, unique=True, trim="-")
    out = float(s)
    assert F32(out) == v, (s, v)
    return out


def jf64(x: float) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"non-finite value {x}")
    return x


# ------------------------------------------------------------------------------------------------------------------
# HF schedules (transformers optimization.py), float64 multipliers

def lam_constant(s, **_):
    return 1.0


def lam_constant_with_warmup(s, *, num_warmup_steps):
    if s < num_warmup_steps:
        return float(s) / float(max(1.0, num_warmup_steps))
    return 1.0


def _warm(s, W):
    return float(s) / float(max(1, W))


def lam_linear(s, *, num_warmup_steps, num_training_steps):
    W, T = num_warmup_steps, num_training_steps
    if s < W:
        return _warm(s, W)
    return max(0.0, float(T - s) / float(max(1, T - W)))


def lam_cosine(s, *, num_warmup_steps, num_training_steps, num_cycles=0.5, min_lr_rate=0.0):
    W, T = num_warmup_steps, num_training_steps
    if s < W:
        return _warm(s, W)
    progress = float(s - W) / float(max(1, T - W))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return max(0, factor)


def lam_cosine_restarts(s, *, num_warmup_steps, num_training_steps, num_cycles=1):
    W, T = num_warmup_steps, num_training_steps
    if s < W:
        return _warm(s, W)
    progress = float(s - W) / float(max(1, T - W))
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(num_cycles) * progress) % 1.0))))


def lam_polynomial(s, *, num_warmup_steps, num_training_steps, lr_end, power, lr_init):
    W, T = num_warmup_steps, num_training_steps
    if s < W:
        return _warm(s, W)
    if s > T:
        return lr_end / lr_init
    lr_range = lr_init - lr_end
    decay_steps = T - W
    pct_remaining = 1 - (s - W) / decay_steps
    return (lr_range * pct_remaining ** power + lr_end) / lr_init


def lam_inverse_sqrt(s, *, num_warmup_steps, timescale):
    W = num_warmup_steps
    if s < W:
        return _warm(s, W)
    shift = timescale - W
    return 1.0 / math.sqrt((s + shift) / timescale)


def lam_cosine_warmup_min_lr(s, *, num_warmup_steps, num_training_steps, num_cycles, min_lr_rate, warmup_lr_rate):
    s = float(s)
    W = float(num_warmup_steps)
    T = float(num_training_steps)
    if s < W:
        if warmup_lr_rate is None:
            return (s + 1.0) / max(1.0, W)
        w = float(warmup_lr_rate)
        return w + (1.0 - w) * s / max(1, W - 1)
    progress = (s - W + 1.0) / max(1.0, T - W)
    factor = 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return max(0, factor)


def lam_wsd(s, *, num_warmup_steps, num_stable_steps, num_decay_steps, warmup_type, decay_type, min_lr_ratio,
            num_cycles):
    W, S, D = num_warmup_steps, num_stable_steps, num_decay_steps
    if s < W:
        x = float(s) / float(max(1, W))
        if warmup_type == "linear":
            f = x
        elif warmup_type == "cosine":
            f = 0.5 * (1.0 - math.cos(math.pi * x))
        else:
            f = 1.0 - math.sqrt(1.0 - x)
        return max(0.0, f * (1.0 - min_lr_ratio) + min_lr_ratio)
    if s < W + S:
        return 1.0
    if s < W + S + D:
        x = float(s - W - S) / float(max(1, D))
        if decay_type == "linear":
            f = 1.0 - x
        elif decay_type == "cosine":
            f = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * x))
        else:
            f = 1.0 - math.sqrt(x)
        return max(0.0, f * (1.0 - min_lr_ratio) + min_lr_ratio)
    return min_lr_ratio


_MISSING = object()


def _kw(kwargs: dict, name: str, default=_MISSING):
    if name in kwargs:
        return kwargs.pop(name)
    if default is _MISSING:
        raise TypeError(f"missing required argument {name!r}")
    return default


def make_schedule(name: str, kwargs: dict, default_lr: float) -> Callable[[int], float]:
    """The factory `name` called with keyword arguments `kwargs` (optimizer.defaults['lr'] = default_lr)."""
    kw = dict(kwargs)
    if name == "constant":
        fn = lam_constant
    elif name == "constant_with_warmup":
        W = _kw(kw, "num_warmup_steps")
        fn = lambda s: lam_constant_with_warmup(s, num_warmup_steps=W)  # noqa: E731
    elif name == "linear":
        W = _kw(kw, "num_warmup_steps")
        T = _kw(kw, "num_training_steps")
        fn = lambda s: lam_linear(s, num_warmup_steps=W, num_training_steps=T)  # noqa: E731
    elif name == "cosine":
        W = _kw(kw, "num_warmup_steps")
        T = _kw(kw, "num_training_steps")
        c = _kw(kw, "num_cycles", 0.5)
        fn = lambda s: lam_cosine(s, num_warmup_steps=W, num_training_steps=T, num_cycles=c)  # noqa: E731
    elif name == "cosine_with_restarts":
        W = _kw(kw, "num_warmup_steps")
        T = _kw(kw, "num_training_steps")
        c = _kw(kw, "num_cycles", 1)
        fn = lambda s: lam_cosine_restarts(s, num_warmup_steps=W, num_training_steps=T, num_cycles=c)  # noqa: E731
    elif name == "polynomial":
        W = _kw(kw, "num_warmup_steps")
        T = _kw(kw, "num_training_steps")
        lr_end = _kw(kw, "lr_end", 1e-7)
        power = _kw(kw, "power", 1.0)
        lr_init = default_lr
        if not (lr_init > lr_end):
            raise ValueError(f"lr_end ({lr_end}) must be smaller than initial lr ({lr_init})")
        fn = lambda s: lam_polynomial(s, num_warmup_steps=W, num_training_steps=T, lr_end=lr_end,  # noqa: E731
                                      power=power, lr_init=lr_init)
    elif name == "inverse_sqrt":
        W = _kw(kw, "num_warmup_steps")
        ts = _kw(kw, "timescale", None)
        if ts is None:
            ts = W or 10_000
        fn = lambda s: lam_inverse_sqrt(s, num_warmup_steps=W, timescale=ts)  # noqa: E731
    elif name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        W = _kw(kw, "num_warmup_steps")
        T = _kw(kw, "num_training_steps")
        c = _kw(kw, "num_cycles", 0.5)
        min_lr = _kw(kw, "min_lr", None)
        rate = _kw(kw, "min_lr_rate", None)
        wr = _kw(kw, "warmup_lr_rate", None) if name == "cosine_warmup_with_min_lr" else None
        if min_lr is not None and rate is not None:
            raise ValueError("Only one of min_lr or min_lr_rate should be set")
        elif min_lr is not None:
            rate = min_lr / default_lr
        elif rate is None:
            raise ValueError("One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`")
        if name == "cosine_with_min_lr":
            fn = lambda s: lam_cosine(s, num_warmup_steps=W, num_training_steps=T, num_cycles=c,  # noqa: E731
                                      min_lr_rate=rate)
        else:
            fn = lambda s: lam_cosine_warmup_min_lr(s, num_warmup_steps=W, num_training_steps=T,  # noqa: E731
                                                    num_cycles=c, min_lr_rate=rate, warmup_lr_rate=wr)
    elif name == "warmup_stable_decay":
        W = _kw(kw, "num_warmup_steps")
        D = _kw(kw, "num_decay_steps")
        T = _kw(kw, "num_training_steps", None)
        S = _kw(kw, "num_stable_steps", None)
        wt = _kw(kw, "warmup_type", "linear")
        dt = _kw(kw, "decay_type", "cosine")
        rho = _kw(kw, "min_lr_ratio", 0)
        c = _kw(kw, "num_cycles", 0.5)
        if T is None and S is None:
            raise ValueError("Either num_training_steps or num_stable_steps must be specified.")
        if wt not in ("linear", "cosine", "1-sqrt") or dt not in ("linear", "cosine", "1-sqrt"):
            raise ValueError("unknown warmup/decay type")
        if S is None:
            S = T - W - D
        fn = lambda s: lam_wsd(s, num_warmup_steps=W, num_stable_steps=S, num_decay_steps=D,  # noqa: E731
                               warmup_type=wt, decay_type=dt, min_lr_ratio=rho, num_cycles=c)
    else:
        raise ValueError(f"unknown schedule {name!r}")
    kw.pop("last_epoch", None)
    if kw:
        raise TypeError(f"{name}: unexpected keyword arguments {sorted(kw)}")
    return fn


def get_scheduler(name: str, num_warmup_steps=None, num_training_steps=None, scheduler_specific_kwargs=None,
                  default_lr: float = 1.0) -> Callable[[int], float]:
    """transformers `get_scheduler` (which arguments reach the factory)."""
    if name == "constant":
        return make_schedule(name, {}, default_lr)
    kw = dict(scheduler_specific_kwargs or {})
    if name == "reduce_lr_on_plateau":
        raise ValueError("not a step function")
    if num_warmup_steps is None:
        raise ValueError(f"{name} requires `num_warmup_steps`, please provide that argument.")
    if name in ("constant_with_warmup", "inverse_sqrt"):
        return make_schedule(name, {"num_warmup_steps": num_warmup_steps}, default_lr)
    if name == "warmup_stable_decay":
        return make_schedule(name, {"num_warmup_steps": num_warmup_steps, "num_training_steps": num_training_steps,
                                    **kw}, default_lr)
    if num_training_steps is None:
        raise ValueError(f"{name} requires `num_training_steps`, please provide that argument.")
    return make_schedule(name, {"num_warmup_steps": num_warmup_steps, "num_training_steps": num_training_steps,
                                **kw}, default_lr)


# ------------------------------------------------------------------------------------------------------------------
# TF schedules (Keras PolynomialDecay, transformers WarmUp / create_optimizer), float32

def keras_polynomial_decay(step, *, initial_learning_rate, decay_steps, end_learning_rate=1e-4, power=1.0,
                           cycle=False) -> np.float32:
    init = F32(initial_learning_rate)
    end = F32(end_learning_rate)
    pw = F32(power)
    s = F32(step)
    ds = F32(decay_steps)
    if cycle:
        mult = F32(1.0) if s == 0 else F32(math.ceil(F32(s / F32(decay_steps))))
        ds = F32(ds * mult)
    else:
        s = min(s, ds)
    p = F32(s / ds)
    return F32(F32(F32(init - end) * F32(np.power(F32(F32(1) - p), pw))) + end)


def tf_warmup(step, *, initial_learning_rate, warmup_steps, power=1.0, decay_schedule) -> np.float32:
    s = F32(step)
    ws = F32(warmup_steps)
    if s < ws:
        pct = F32(s / ws)
        return F32(F32(initial_learning_rate) * F32(np.power(pct, F32(power))))
    return tf_schedule(decay_schedule, s - F32(warmup_steps))


def tf_schedule(spec: dict, step) -> np.float32:
    t = spec["type"]
    if t == "tf_polynomial_decay":
        return keras_polynomial_decay(step, initial_learning_rate=spec["initial_learning_rate"],
                                      decay_steps=spec["decay_steps"],
                                      end_learning_rate=spec.get("end_learning_rate", 1e-4),
                                      power=spec.get("power", 1.0), cycle=spec.get("cycle", False))
    if t == "tf_warmup":
        return tf_warmup(step, initial_learning_rate=spec["initial_learning_rate"], warmup_steps=spec["warmup_steps"],
                         power=spec.get("power", 1.0), decay_schedule=spec["decay_schedule"])
    if t == "create_optimizer":
        init_lr = spec["init_lr"]
        T = spec["num_train_steps"]
        W = spec["num_warmup_steps"]
        decay = {"type": "tf_polynomial_decay", "initial_learning_rate": init_lr, "decay_steps": T - W,
                 "end_learning_rate": init_lr * spec.get("min_lr_ratio", 0.0), "power": spec.get("power", 1.0)}
        if W:
            return tf_warmup(step, initial_learning_rate=init_lr, warmup_steps=W, power=1.0, decay_schedule=decay)
        return tf_schedule(decay, step)
    raise ValueError(t)


# ------------------------------------------------------------------------------------------------------------------
# Optimizers. Each: init(shape) -> state dict; update(p, g, state, ctx) -> p (state updated in place).

class HFAdamW:
    """transformers AdamW as torch float32 kernels."""

    def __init__(self, o: dict):
        self.b1, self.b2 = o.get("betas", [0.9, 0.999])
        self.eps = o.get("eps", 1e-6)
        self.wd = o.get("weight_decay", 0.0)
        self.cb = o.get("correct_bias", True)

    def init(self, name, shape):
        return {"exp_avg": np.zeros(shape, F32), "exp_avg_sq": np.zeros(shape, F32)}

    def update(self, p, g, st, t, lr):
        b1, b2 = self.b1, self.b2
        st["exp_avg"] = fma32(g, F32(1.0 - b1), f32(st["exp_avg"] * F32(b1)))
        st["exp_avg_sq"] = fma32(f32(F32(1.0 - b2) * g), g, f32(st["exp_avg_sq"] * F32(b2)))
        denom = f32(np.sqrt(st["exp_avg_sq"]) + F32(self.eps))
        step_size = lr
        if self.cb:
            step_size = step_size * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
        p = f32(p + f32(f32(F32(-step_size) * st["exp_avg"]) / denom))
        if self.wd > 0.0:
            p = fma32(p, F32(-lr * self.wd), p)
        return p


class TorchAdamW:
    """torch.optim.AdamW (_single_tensor_adam(w), decoupled decay) as float32 kernels."""

    def __init__(self, o: dict):
        self.b1, self.b2 = o.get("betas", [0.9, 0.999])
        self.eps = o.get("eps", 1e-8)
        self.wd = o.get("weight_decay", 1e-2)
        self.ams = o.get("amsgrad", False)

    def init(self, name, shape):
        st = {"exp_avg": np.zeros(shape, F32), "exp_avg_sq": np.zeros(shape, F32)}
        if self.ams:
            st["max_exp_avg_sq"] = np.zeros(shape, F32)
        return st

    def update(self, p, g, st, t, lr):
        b1, b2 = self.b1, self.b2
        if self.wd != 0:
            p = f32(p * F32(1.0 - lr * self.wd))
        w = F32(1.0 - b1)
        m = st["exp_avg"]
        diff = f32(g - m)
        st["exp_avg"] = fma32(w, diff, m) if abs(w) < 0.5 else fma32(F32(w - F32(1)), diff, g)
        st["exp_avg_sq"] = fma32(f32(F32(1.0 - b2) * g), g, f32(st["exp_avg_sq"] * F32(b2)))
        bc1 = 1.0 - b1 ** t
        bc2 = 1.0 - b2 ** t
        step_size = lr / bc1
        bc2_sqrt = math.sqrt(bc2)
        v = st["exp_avg_sq"]
        if self.ams:
            st["max_exp_avg_sq"] = np.maximum(st["max_exp_avg_sq"], v)
            v = st["max_exp_avg_sq"]
        denom = f32(f32(np.sqrt(v) / F32(bc2_sqrt)) + F32(self.eps))
        return f32(p + f32(f32(F32(-step_size) * st["exp_avg"]) / denom))


class Adafactor:
    """transformers Adafactor as torch float32 kernels (reductions exact, rounded once)."""

    def __init__(self, o: dict):
        self.lr = o.get("lr", None)
        self.eps = o.get("eps", [1e-30, 1e-3])
        self.clip = o.get("clip_threshold", 1.0)
        self.decay_rate = o.get("decay_rate", -0.8)
        self.beta1 = o.get("beta1", None)
        self.wd = o.get("weight_decay", 0.0)
        self.scale = o.get("scale_parameter", True)
        self.relative = o.get("relative_step", True)
        self.warmup_init = o.get("warmup_init", False)
        if self.lr is not None and self.relative:
            raise ValueError("Cannot combine manual `lr` and `relative_step=True` options")
        if self.warmup_init and not self.relative:
            raise ValueError("`warmup_init=True` requires `relative_step=True`")

    def init(self, name, shape):
        st = {}
        if self.beta1 is not None:
            st["exp_avg"] = np.zeros(shape, F32)
        if len(shape) >= 2:
            st["exp_avg_sq_row"] = np.zeros(shape[:-1], F32)
            st["exp_avg_sq_col"] = np.zeros(tuple(shape[:-2]) + tuple(shape[-1:]), F32)
        else:
            st["exp_avg_sq"] = np.zeros(shape, F32)
        return st

    @staticmethod
    def rms(x) -> np.float32:
        return F32(norm32(x) / F32(x.size ** 0.5))

    def update(self, p, g, st, t, lr):
        """Returns (p, lr_used)."""
        rms_p = self.rms(p)
        rel = lr
        if self.relative:
            min_step = 1e-6 * t if self.warmup_init else 1e-2
            rel = min(min_step, 1.0 / math.sqrt(t))
        if rel is None:
            raise ValueError("Adafactor with relative_step=False needs an lr")
        if self.scale:
            # python max(eps1, RMS): the 0-dim float32 tensor when RMS > eps1, else the python float
            ell = F32(rms_p * F32(rel)) if rms_p > self.eps[1] else self.eps[1] * rel
        else:
            ell = rel
        beta2t = 1.0 - math.pow(t, self.decay_rate)
        u = f32(f32(g * g) + F32(self.eps[0]))
        if g.ndim >= 2:
            row = fma32(mean32(u, -1), F32(1.0 - beta2t), f32(st["exp_avg_sq_row"] * F32(beta2t)))
            col = fma32(mean32(u, -2), F32(1.0 - beta2t), f32(st["exp_avg_sq_col"] * F32(beta2t)))
            st["exp_avg_sq_row"], st["exp_avg_sq_col"] = row, col
            r = f32(row / mean32(row, -1, keepdims=True))
            r_factor = f32(F32(1) / f32(np.sqrt(r)))[..., :, None]
            c_factor = f32(F32(1) / f32(np.sqrt(col)))[..., None, :]
            upd = f32(f32(r_factor * c_factor) * g)
        else:
            v = fma32(u, F32(1.0 - beta2t), f32(st["exp_avg_sq"] * F32(beta2t)))
            st["exp_avg_sq"] = v
            upd = f32(f32(F32(1) / f32(np.sqrt(v))) * g)
        den = max(F32(self.rms(upd) / F32(self.clip)), F32(1.0))
        upd = f32(upd / den)
        upd = f32(upd * F32(ell))
        if self.beta1 is not None:
            st["exp_avg"] = fma32(upd, F32(1 - self.beta1), f32(st["exp_avg"] * F32(self.beta1)))
            upd = st["exp_avg"]
        if self.wd != 0:
            p = fma32(p, F32(-self.wd * ell), p)
        p = f32(p - upd)
        return p, F32(ell)


def _py_search(pattern: str, name: str) -> bool:
    return re.search(pattern, name) is not None


class AdamWeightDecay:
    """transformers (TF) AdamWeightDecay on legacy Keras Adam: float32, hyperparameters cast to float32 first."""

    def __init__(self, o: dict):
        self.lr = o.get("learning_rate", 1e-3)
        self.b1 = F32(o.get("beta_1", 0.9))
        self.b2 = F32(o.get("beta_2", 0.999))
        self.eps = F32(o.get("epsilon", 1e-7))
        self.ams = o.get("amsgrad", False)
        self.wd_py = o.get("weight_decay_rate", 0.0)
        self.wd = F32(self.wd_py)
        self.include = o.get("include_in_weight_decay")
        self.exclude = o.get("exclude_from_weight_decay")
        self.clipnorm = o.get("clipnorm")
        self.global_clipnorm = o.get("global_clipnorm")
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError("cannot set both clipnorm and global_clipnorm")

    def use_decay(self, name: str) -> bool:
        if self.wd_py == 0:
            return False
        if self.include:
            for r in self.include:
                if _py_search(r, name):
                    return True
        if self.exclude:
            for r in self.exclude:
                if _py_search(r, name):
                    return False
        return True

    def init(self, name, shape):
        st = {"m": np.zeros(shape, F32), "v": np.zeros(shape, F32)}
        if self.ams:
            st["vhat"] = np.zeros(shape, F32)
        return st

    def lr_at(self, iterations: int) -> np.float32:
        if isinstance(self.lr, dict):
            return tf_schedule(self.lr, F32(iterations))
        return F32(self.lr)

    def clip(self, grads: list) -> list:
        if self.clipnorm is not None:
            c = F32(self.clipnorm)
            out = []
            for g in grads:
                l2sum = F32(sum64(np.square(np.asarray(g, np.float64))))
                l2norm = F32(math.sqrt(l2sum)) if l2sum > 0 else l2sum
                out.append(f32(f32(g * c) / max(l2norm, c)))
            return out
        if self.global_clipnorm is not None:
            c = F32(self.global_clipnorm)
            half = F32(sum(float(F32(sum64(np.square(np.asarray(g, np.float64))) / 2)) for g in grads))
            use_norm = F32(math.sqrt(F32(half * F32(2))))
            inv = F32(np.inf) if use_norm == 0 else F32(F32(1) / use_norm)
            scale = F32(c * min(inv, F32(F32(1) / c)))
            return [f32(g * scale) for g in grads]
        return grads

    def apply(self, names, params, grads, states, iterations: int):
        lr_t = self.lr_at(iterations)
        k = F32(iterations + 1)
        b1p = F32(np.power(self.b1, k))
        b2p = F32(np.power(self.b2, k))
        grads = self.clip(grads)
        out = []
        for name, p, g, st in zip(names, params, grads, states):
            if self.use_decay(name):
                p = f32(p - f32(f32(lr_t * p) * self.wd))
            alpha = F32(F32(lr_t * F32(math.sqrt(F32(F32(1) - b2p)))) / F32(F32(1) - b1p))
            st["m"] = f32(st["m"] + f32(f32(g - st["m"]) * F32(F32(1) - self.b1)))
            st["v"] = f32(st["v"] + f32(f32(f32(g * g) - st["v"]) * F32(F32(1) - self.b2)))
            v = st["v"]
            if self.ams:
                st["vhat"] = np.maximum(st["vhat"], st["v"])
                v = st["vhat"]
            p = f32(p - f32(f32(st["m"] * alpha) / f32(f32(np.sqrt(v)) + self.eps)))
            out.append(p)
        return out, lr_t


class OrtAdamW:
    """ONNX Runtime com.microsoft::AdamWOptimizer CPU kernel (float32)."""

    def __init__(self, o: dict):
        self.alpha = F32(o.get("alpha", 0.9))
        self.beta = F32(o.get("beta", 0.999))
        self.eps = F32(o.get("epsilon", 1e-8))
        self.wd = F32(o.get("weight_decay", 1e-2))
        self.mode = o.get("adam_mode", 0)
        self.cb = o.get("correct_bias", 1)
        if self.mode == 0 and self.cb != 1:
            raise ValueError("adam_mode 0 requires correct_bias 1")

    def init(self, name, shape):
        return {"exp_avg": np.zeros(shape, F32), "exp_avg_sq": np.zeros(shape, F32)}

    def corrections(self, lr, step):
        lr = F32(lr)
        ac, bc, lrc = F32(1), F32(1), lr
        if self.cb == 1:
            ac = F32(F32(1) - F32(math.pow(float(self.alpha), step)))
            bc = F32(F32(1) - F32(math.pow(float(self.beta), step)))
            lrc = F32(lr * F32(F32(math.sqrt(bc)) / ac))
        return lr, ac, bc, lrc

    def update(self, p, g, st, step, lr):
        lr, ac, bc, lrc = self.corrections(lr, step)
        a, b = self.alpha, self.beta
        if self.mode == 0:
            p = f32(p - f32(f32(p * lr) * self.wd))
        st["exp_avg"] = f32(f32(a * st["exp_avg"]) + f32(F32(F32(1) - a) * g))
        st["exp_avg_sq"] = f32(f32(b * st["exp_avg_sq"]) + f32(f32(F32(F32(1) - b) * g) * g))
        if self.mode == 0:
            denom = f32(f32(np.sqrt(f32(st["exp_avg_sq"] / bc))) + self.eps)
            p = f32(p - f32(f32(lr * st["exp_avg"]) / f32(ac * denom)))
        else:
            denom = f32(f32(np.sqrt(st["exp_avg_sq"])) + self.eps)
            p = f32(p - f32(f32(lrc * st["exp_avg"]) / denom))
            p = f32(p - f32(F32(lr * self.wd) * p))
        return p


class OnnxAdam:
    """ONNX ai.onnx.preview.training::Adam (float32 tensors, float32 attributes)."""

    def __init__(self, o: dict):
        self.alpha = F32(o.get("alpha", 0.9))
        self.beta = F32(o.get("beta", 0.999))
        self.eps = F32(o.get("epsilon", 1e-6))
        self.nc = F32(o.get("norm_coefficient", 0.0))
        self.ncp = F32(o.get("norm_coefficient_post", 0.0))

    def init(self, name, shape):
        return {"V": np.zeros(shape, F32), "H": np.zeros(shape, F32)}

    def update(self, x, g, st, T, R):
        R = F32(R)
        gr = f32(f32(self.nc * x) + g)
        st["V"] = f32(f32(self.alpha * st["V"]) + f32(F32(F32(1) - self.alpha) * gr))
        st["H"] = f32(f32(self.beta * st["H"]) + f32(F32(F32(1) - self.beta) * f32(gr * gr)))
        hs = f32(f32(np.sqrt(st["H"])) + self.eps)
        if T > 0:
            r = F32(float(R) * math.sqrt(1 - float(self.beta) ** T) / (1 - float(self.alpha) ** T))
        else:
            r = R
        x = f32(x - f32(r * f32(st["V"] / hs)))
        return f32(F32(F32(1) - self.ncp) * x)


# ------------------------------------------------------------------------------------------------------------------
# Running an optimizer case: fills steps[k].expect from params / grads / lr (the same inputs the runner feeds).

def run_optimizer_case(case: dict) -> dict:
    """Returns a copy of `case` whose steps carry the expectations of these ports."""
    o = case["optimizer"]
    typ = o["type"]
    names = [p["name"] for p in case["params"]]
    shapes = [tuple(p["shape"]) for p in case["params"]]
    params = [np.asarray(p["data"], F32).reshape(s) for p, s in zip(case["params"], shapes)]
    opt = {"adamw": HFAdamW, "adamw_torch": TorchAdamW, "adafactor": Adafactor,
           "adam_weight_decay": AdamWeightDecay, "ort_adamw": OrtAdamW, "onnx_adam": OnnxAdam}[typ](o)
    states = [opt.init(n, s) for n, s in zip(names, shapes)]
    out_steps = []
    for k, step in enumerate(case["steps"]):
        grads = [np.asarray(g, F32).reshape(s) for g, s in zip(step["grads"], shapes)]
        expect: dict = {}
        t = k + 1
        if typ == "adam_weight_decay":
            params, lr_t = opt.apply(names, params, grads, states, k)
            expect["lr_t"] = jf32(lr_t)
        elif typ == "adafactor":
            lr = step.get("lr", o.get("lr"))
            used = []
            new = []
            for p, g, st in zip(params, grads, states):
                p2, ell = opt.update(p, g, st, t, lr)
                new.append(p2)
                used.append(ell)
            params = new
            expect["lr_used"] = jf32(used)
        elif typ == "ort_adamw":
            signal = step.get("update_signal", True)
            if signal is None or signal:
                params = [opt.update(p, g, st, step["step_input"], step["lr"])
                          for p, g, st in zip(params, grads, states)]
            expect["updated_flag"] = bool(signal is None or signal)
        elif typ == "onnx_adam":
            params = [opt.update(p, g, st, step["T"], step["R"]) for p, g, st in zip(params, grads, states)]
        else:
            params = [opt.update(p, g, st, t, step["lr"]) for p, g, st in zip(params, grads, states)]
        # np.asarray: a 0-d parameter (shape []) comes back from float32 arithmetic as a numpy scalar
        expect_full = {"params": [jf32(np.asarray(p, F32)) for p in params],
                       "state": {n: {sn: jf32(np.asarray(sv, F32)) for sn, sv in st.items()}
                                 for n, st in zip(names, states)}}
        expect_full.update(expect)
        s2 = {k2: v for k2, v in step.items() if k2 != "expect"}
        s2["expect"] = expect_full
        out_steps.append(s2)
    c2 = dict(case)
    c2["steps"] = out_steps
    return c2


# ------------------------------------------------------------------------------------------------------------------
# ReduceLROnPlateau (torch), float64

def run_plateau(kwargs: dict, initial_lrs: list, metrics: list) -> list:
    mode = kwargs.get("mode", "min")
    factor = kwargs.get("factor", 0.1)
    patience = kwargs.get("patience", 10)
    threshold = kwargs.get("threshold", 1e-4)
    tmode = kwargs.get("threshold_mode", "rel")
    cooldown = kwargs.get("cooldown", 0)
    min_lr = kwargs.get("min_lr", 0)
    eps = kwargs.get("eps", 1e-8)
    if factor >= 1.0:
        raise ValueError("Factor should be < 1.0.")
    if isinstance(min_lr, (list, tuple)):
        if len(min_lr) != len(initial_lrs):
            raise ValueError("min_lr length")
        min_lrs = list(min_lr)
    else:
        min_lrs = [min_lr] * len(initial_lrs)
    best = math.inf if mode == "min" else -math.inf
    bad = 0
    cd = 0
    lrs = [float(x) for x in initial_lrs]

    def is_better(a, b):
        if mode == "min" and tmode == "rel":
            return a < b * (1.0 - threshold)
        if mode == "min" and tmode == "abs":
            return a < b - threshold
        if mode == "max" and tmode == "rel":
            return a > b * (threshold + 1.0)
        return a > b + threshold

    out = []
    for metric in metrics:
        cur = float(metric)
        if is_better(cur, best):
            best = cur
            bad = 0
        else:
            bad += 1
        if cd > 0:
            cd -= 1
            bad = 0
        if bad > patience:
            for i, old in enumerate(lrs):
                new = max(old * factor, min_lrs[i])
                if old - new > eps:
                    lrs[i] = new
            cd = cooldown
            bad = 0
        out.append({"lrs": [jf64(x) for x in lrs], "best": jf64(best), "num_bad_epochs": bad,
                    "cooldown_counter": cd})
    return out


# ------------------------------------------------------------------------------------------------------------------
# GradientAccumulator (transformers optimization_tf.py), float32 buffers

class Accumulator:
    def __init__(self):
        self.grads: list = []
        self.step = 0

    def gradients(self):
        if not self.grads:
            raise ValueError("The accumulator should be called first to initialize the gradients")
        return [None if g is None else g.copy() for g in self.grads]

    def __call__(self, gradients: list):
        if not self.grads:
            self.grads.extend([None if g is None else np.zeros(len(g), F32) for g in gradients])
        if len(gradients) != len(self.grads):
            raise ValueError(f"Expected {len(self.grads)} gradients, but got {len(gradients)}")
        for i, (acc, g) in enumerate(zip(self.grads, gradients)):
            if acc is not None and g is not None:
                self.grads[i] = f32(acc + np.asarray(g, F32))
        self.step += 1

    def reset(self):
        if not self.grads:
            return
        self.step = 0
        self.grads = [None if g is None else np.zeros_like(g) for g in self.grads]


def run_accumulator(script: list) -> list:
    acc = Accumulator()
    out = []
    for entry in script:
        e = {k: v for k, v in entry.items() if k in ("op", "args")}
        err = None
        try:
            if entry["op"] == "call":
                acc(entry["args"])
            elif entry["op"] == "reset":
                acc.reset()
        except ValueError as ex:
            err = str(ex)
        e["step"] = acc.step
        try:
            e["gradients"] = [None if g is None else jf32(g) for g in acc.gradients()]
        except ValueError as ex:
            e["gradients"] = str(ex)
        e["error"] = err
        out.append(e)
    return out


# ------------------------------------------------------------------------------------------------------------------
# Case construction

class Gen:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def arr(self, shape, scale=1.0, kind="normal") -> np.ndarray:
        n = int(np.prod(shape)) if len(shape) else 1
        if kind == "normal":
            x = self.rng.standard_normal(n) * scale
        elif kind == "uniform":
            x = self.rng.uniform(-scale, scale, n)
        elif kind == "zeros":
            x = np.zeros(n)
        else:
            raise ValueError(kind)
        return f32(x)

    def params(self, spec: list, scale=0.5, kind="normal") -> list:
        return [{"name": n, "shape": list(s), "data": jf32(self.arr(s, scale, kind))} for n, s in spec]


SHAPES_BASIC = [("norm.weight", (3,)), ("fc.weight", (2, 3)), ("conv.weight", (2, 1, 2))]
SHAPES_ADAFACTOR = [("norm.weight", (4,)), ("fc.weight", (2, 3)), ("conv.weight", (2, 2, 2)),
                    ("conv4d.weight", (2, 1, 2, 2))]
SHAPES_WITH_SCALAR = [("scale", ()), ("norm.weight", (3,)), ("fc.weight", (2, 3))]
TF_NAMES = [
    ("encoder/layer_0/attention/self/query/kernel:0", (2, 2)),
    ("encoder/layer_0/attention/self/query/bias:0", (2,)),
    ("encoder/layer_0/attention/output/LayerNorm/gamma:0", (2,)),
    ("encoder/layer_1/output/layer_norm/beta:0", (2,)),
    ("embeddings/word_embeddings/weight:0", (3, 2)),
]


def opt_case(cid: str, optimizer: dict, gen: Gen, shapes: list, n_steps: int, tol: dict, *,
             lrs: list | None = None, pscale=0.5, gscale=1.0, pkind="normal", grad_fn=None,
             extra_step: Callable[[int], dict] | None = None) -> dict:
    params = gen.params(shapes, pscale, pkind)
    steps = []
    for k in range(n_steps):
        if grad_fn is not None:
            grads = [jf32(grad_fn(k, i, s, gen)) for i, (_, s) in enumerate(shapes)]
        else:
            grads = [jf32(gen.arr(s, gscale)) for _, s in shapes]
        st: dict = {}
        if lrs is not None:
            st["lr"] = lrs[k]
        if extra_step is not None:
            st.update(extra_step(k))
        st["grads"] = grads
        steps.append(st)
    case = {"id": cid, "kind": "optimizer", "optimizer": optimizer, "params": params, "steps": steps,
            "tolerance": dict(tol)}
    return run_optimizer_case(case)


def without_step_lr(case: dict) -> dict:
    """The case with `lr` removed from every step (computed with the lr the optimizer key / upstream default gives)."""
    for st in case["steps"]:
        del st["lr"]
    return case


def sched_lrs(fn: Callable[[int], float], base: float, n: int) -> list:
    return [jf64(base * fn(k)) for k in range(n)]


def cases_adamw() -> list:
    g = Gen(101)
    S = SHAPES_BASIC
    lin = make_schedule("linear", {"num_warmup_steps": 2, "num_training_steps": 8}, 1.0)
    cos = make_schedule("cosine", {"num_warmup_steps": 1, "num_training_steps": 6}, 1.0)
    zero_some = lambda k, i, s, gen: np.zeros(s, F32) if (k == 2 or i == 1) else gen.arr(s)  # noqa: E731
    out = [
        opt_case("x_adamw_all_defaults", {"type": "adamw"}, g, S, 6, TOL_ADAM, lrs=[1e-3] * 6),
        opt_case("x_adamw_nobias_wd0.01", {"type": "adamw", "weight_decay": 0.01, "correct_bias": False}, g, S, 6,
                 TOL_ADAM, lrs=[0.01] * 6),
        opt_case("x_adamw_nobias_wd0", {"type": "adamw", "betas": [0.9, 0.999], "eps": 1e-6, "weight_decay": 0.0,
                                        "correct_bias": False}, g, S, 5, TOL_ADAM, lrs=[0.05] * 5),
        opt_case("x_adamw_betas0.8_0.99_eps1e-8", {"type": "adamw", "betas": [0.8, 0.99], "eps": 1e-8,
                                                  "weight_decay": 0.0}, g, S, 6, TOL_ADAM, lrs=[0.02] * 6),
        opt_case("x_adamw_wd0.1_linear_warmup_lr0_first", {"type": "adamw", "weight_decay": 0.1}, g, S, 8, TOL_ADAM,
                 lrs=sched_lrs(lin, 0.05, 8)),
        opt_case("x_adamw_wd0.05_cosine_nobias", {"type": "adamw", "weight_decay": 0.05, "correct_bias": False}, g, S,
                 7, TOL_ADAM, lrs=sched_lrs(cos, 0.03, 7)),
        opt_case("x_adamw_tiny_grads_eps_on_raw_root", {"type": "adamw", "eps": 1e-6, "weight_decay": 0.01}, g, S, 6,
                 TOL_ADAM, lrs=[0.01] * 6, gscale=1e-7),
        opt_case("x_adamw_large_grads_params", {"type": "adamw", "weight_decay": 0.01}, g, S, 6, TOL_ADAM,
                 lrs=[0.1] * 6, pscale=100.0, gscale=1e3),
        opt_case("x_adamw_zero_grads", {"type": "adamw", "weight_decay": 0.02}, g, S, 6, TOL_ADAM, lrs=[0.01] * 6,
                 grad_fn=zero_some),
        opt_case("x_adamw_beta1_0_beta2_0.5", {"type": "adamw", "betas": [0.0, 0.5], "eps": 1e-6}, g, S, 5, TOL_ADAM,
                 lrs=[0.01] * 5),
        opt_case("x_adamw_betas0.95_0.9999_lr_varies", {"type": "adamw", "betas": [0.95, 0.9999], "eps": 1e-7,
                                                       "weight_decay": 0.3, "correct_bias": True}, g, S, 6, TOL_ADAM,
                 lrs=[0.001, 0.1, 0.0, 0.03, 0.2, 0.005]),
        opt_case("x_adamw_step_lr_wins_over_optimizer_lr", {"type": "adamw", "lr": 0.5, "weight_decay": 0.01,
                                                           "no_deprecation_warning": True}, g, S, 4, TOL_ADAM,
                 lrs=[0.01, 0.02, 0.005, 0.01]),
        without_step_lr(opt_case("x_adamw_no_step_lr_optimizer_lr_key", {"type": "adamw", "lr": 0.02,
                                                                         "weight_decay": 0.1}, g, S, 4, TOL_ADAM,
                                 lrs=[0.02] * 4)),
        without_step_lr(opt_case("x_adamw_no_lr_anywhere_default_1e-3", {"type": "adamw", "weight_decay": 0.1}, g, S,
                                 4, TOL_ADAM, lrs=[1e-3] * 4)),
        opt_case("x_adamw_beta2_0.99999_f32_one_minus_beta", {"type": "adamw", "betas": [0.99, 0.99999],
                                                              "weight_decay": 0.01}, g, S, 5, TOL_ADAM,
                 lrs=[0.01] * 5),
        opt_case("x_adamw_large_eps_1e-2", {"type": "adamw", "eps": 1e-2, "weight_decay": 0.01}, g, S, 5, TOL_ADAM,
                 lrs=[0.01] * 5, gscale=0.05),
        opt_case("x_adamw_negative_wd_is_skipped", {"type": "adamw", "weight_decay": -0.1}, g, S, 4, TOL_ADAM,
                 lrs=[0.05] * 4),
        opt_case("x_adamw_scalar_param", {"type": "adamw", "weight_decay": 0.01, "correct_bias": True}, g,
                 SHAPES_WITH_SCALAR, 5, TOL_ADAM, lrs=[0.01] * 5),
    ]
    return out


def cases_adamw_torch() -> list:
    g = Gen(202)
    S = SHAPES_BASIC
    cos = make_schedule("cosine", {"num_warmup_steps": 2, "num_training_steps": 8}, 1.0)
    shrinking = lambda k, i, s, gen: gen.arr(s, 2.0 / (k + 1) ** 2)  # noqa: E731  (amsgrad max matters)
    zero_some = lambda k, i, s, gen: np.zeros(s, F32) if (k in (1, 3) or i == 2) else gen.arr(s)  # noqa: E731
    return [
        opt_case("x_torch_adamw_all_defaults", {"type": "adamw_torch"}, g, S, 6, TOL_ADAM, lrs=[1e-3] * 6),
        opt_case("x_torch_adamw_amsgrad_shrinking_grads", {"type": "adamw_torch", "amsgrad": True}, g, S, 7, TOL_ADAM,
                 lrs=[0.01] * 7, grad_fn=shrinking),
        opt_case("x_torch_adamw_amsgrad_wd0", {"type": "adamw_torch", "amsgrad": True, "weight_decay": 0.0,
                                              "betas": [0.8, 0.95], "eps": 1e-6}, g, S, 6, TOL_ADAM, lrs=[0.02] * 6,
                 grad_fn=shrinking),
        opt_case("x_torch_adamw_wd0", {"type": "adamw_torch", "weight_decay": 0.0}, g, S, 5, TOL_ADAM,
                 lrs=[0.01] * 5),
        opt_case("x_torch_adamw_tiny_grads_eps_after_correction", {"type": "adamw_torch", "eps": 1e-8}, g, S, 6,
                 TOL_ADAM, lrs=[0.01] * 6, gscale=1e-8),
        opt_case("x_torch_adamw_betas0.5_0.9_cosine", {"type": "adamw_torch", "betas": [0.5, 0.9], "eps": 1e-6,
                                                      "weight_decay": 0.1}, g, S, 8, TOL_ADAM,
                 lrs=sched_lrs(cos, 0.05, 8)),
        opt_case("x_torch_adamw_large", {"type": "adamw_torch", "weight_decay": 0.01}, g, S, 5, TOL_ADAM,
                 lrs=[0.5] * 5, pscale=50.0, gscale=1e4),
        opt_case("x_torch_adamw_zero_grads_amsgrad", {"type": "adamw_torch", "amsgrad": True, "weight_decay": 0.05},
                 g, S, 6, TOL_ADAM, lrs=[0.01] * 6, grad_fn=zero_some),
        opt_case("x_torch_adamw_wd_large_lr_varies", {"type": "adamw_torch", "weight_decay": 0.5,
                                                     "betas": [0.9, 0.99]}, g, S, 6, TOL_ADAM,
                 lrs=[0.0, 0.1, 0.2, 0.05, 0.3, 0.01]),
        opt_case("x_torch_adamw_explicit_defaults_scalar", {"type": "adamw_torch", "lr": 0.5, "betas": [0.9, 0.999],
                                                           "eps": 1e-8, "weight_decay": 0.01, "amsgrad": False,
                                                           "maximize": False}, g, SHAPES_WITH_SCALAR, 5, TOL_ADAM,
                 lrs=[0.01] * 5),
        without_step_lr(opt_case("x_torch_adamw_no_step_lr_optimizer_lr_key", {"type": "adamw_torch", "lr": 0.02},
                                 g, S, 4, TOL_ADAM, lrs=[0.02] * 4)),
        without_step_lr(opt_case("x_torch_adamw_no_lr_anywhere_default_1e-3", {"type": "adamw_torch",
                                                                               "amsgrad": True}, g, S, 4, TOL_ADAM,
                                 lrs=[1e-3] * 4)),
        opt_case("x_torch_adamw_beta2_0.99999_f32_one_minus_beta", {"type": "adamw_torch", "betas": [0.99, 0.99999]},
                 g, S, 5, TOL_ADAM, lrs=[0.01] * 5),
        opt_case("x_torch_adamw_large_eps_1e-2", {"type": "adamw_torch", "eps": 1e-2, "amsgrad": True}, g, S, 5,
                 TOL_ADAM, lrs=[0.01] * 5, gscale=0.05),
        opt_case("x_torch_adamw_beta1_0_amsgrad", {"type": "adamw_torch", "betas": [0.0, 0.9], "amsgrad": True}, g, S,
                 5, TOL_ADAM, lrs=[0.01] * 5, grad_fn=shrinking),
    ]


def cases_adafactor() -> list:
    g = Gen(303)
    S = SHAPES_ADAFACTOR
    S_THIN = [("thin_row.weight", (1, 5)), ("thin_col.weight", (5, 1)), ("one.bias", (1,)),
              ("conv.weight", (3, 2, 2))]
    lin = make_schedule("linear", {"num_warmup_steps": 2, "num_training_steps": 8}, 1.0)
    zero_some = lambda k, i, s, gen: np.zeros(s, F32) if (k == 1 or i == 0) else gen.arr(s)  # noqa: E731
    base = {"type": "adafactor"}
    out = [
        opt_case("x_adafactor_all_defaults_1d_2d_3d_4d", dict(base), g, S, 5, TOL_ADAFACTOR),
        opt_case("x_adafactor_warmup_init", {**base, "warmup_init": True}, g, S, 5, TOL_ADAFACTOR),
        opt_case("x_adafactor_warmup_init_noscale", {**base, "warmup_init": True, "scale_parameter": False}, g, S, 5,
                 TOL_ADAFACTOR),
        opt_case("x_adafactor_relative_noscale", {**base, "scale_parameter": False}, g, S, 5, TOL_ADAFACTOR),
        opt_case("x_adafactor_manual_lr_scale", {**base, "lr": 0.01, "relative_step": False,
                                                "scale_parameter": True}, g, S, 5, TOL_ADAFACTOR, lrs=[0.01] * 5),
        opt_case("x_adafactor_manual_lr_noscale_schedule", {**base, "lr": 0.001, "relative_step": False,
                                                           "scale_parameter": False}, g, S, 8, TOL_ADAFACTOR,
                 lrs=sched_lrs(lin, 0.02, 8)),
        opt_case("x_adafactor_optimizer_lr_only", {**base, "lr": 0.005, "relative_step": False,
                                                  "scale_parameter": False}, g, S, 5, TOL_ADAFACTOR),
        opt_case("x_adafactor_beta1_0.9_wd0.01_manual", {**base, "lr": 0.01, "relative_step": False,
                                                        "scale_parameter": False, "beta1": 0.9,
                                                        "weight_decay": 0.01}, g, S, 5, TOL_ADAFACTOR,
                 lrs=[0.01] * 5),
        opt_case("x_adafactor_beta1_0_allocates_exp_avg", {**base, "beta1": 0.0}, g, S, 5, TOL_ADAFACTOR),
        opt_case("x_adafactor_beta1_0.5_wd0.1_relative", {**base, "beta1": 0.5, "weight_decay": 0.1}, g, S, 5,
                 TOL_ADAFACTOR),
        opt_case("x_adafactor_clip0.5", {**base, "clip_threshold": 0.5}, g, S, 5, TOL_ADAFACTOR),
        opt_case("x_adafactor_clip100_no_clipping", {**base, "clip_threshold": 100.0, "scale_parameter": False}, g, S,
                 5, TOL_ADAFACTOR),
        opt_case("x_adafactor_decay_rate_-0.5", {**base, "decay_rate": -0.5}, g, S, 5, TOL_ADAFACTOR),
        opt_case("x_adafactor_eps_custom", {**base, "eps": [1e-20, 1e-2]}, g, S, 5, TOL_ADAFACTOR, pscale=1e-3),
        opt_case("x_adafactor_zero_init_params", dict(base), g, S, 5, TOL_ADAFACTOR, pkind="zeros"),
        opt_case("x_adafactor_zero_grads", {**base, "beta1": 0.9}, g, S, 5, TOL_ADAFACTOR, grad_fn=zero_some),
        opt_case("x_adafactor_thin_shapes", {**base, "weight_decay": 0.01}, g, S_THIN, 5, TOL_ADAFACTOR),
        opt_case("x_adafactor_large_params_grads", {**base, "lr": 0.001, "relative_step": False}, g, S, 5,
                 TOL_ADAFACTOR, lrs=[0.001] * 5, pscale=30.0, gscale=500.0),
        opt_case("x_adafactor_small_grads", dict(base), g, S, 5, TOL_ADAFACTOR, gscale=1e-6),
        opt_case("x_adafactor_step_lr_wins_over_optimizer_lr", {**base, "lr": 0.5, "relative_step": False,
                                                               "scale_parameter": True, "warmup_init": False}, g, S,
                 5, TOL_ADAFACTOR, lrs=[0.003, 0.01, 0.0, 0.02, 0.005]),
        opt_case("x_adafactor_eps0_large_enters_before_mean", {**base, "eps": [1e-2, 1e-3]}, g, S, 5, TOL_ADAFACTOR,
                 gscale=0.1),
        opt_case("x_adafactor_param_rms_near_eps1", {**base, "beta1": 0.9}, g, S, 5, TOL_ADAFACTOR, pscale=1.1e-3,
                 gscale=1e-3),
        opt_case("x_adafactor_explicit_nulls_defaults", {"type": "adafactor", "lr": None, "eps": [1e-30, 1e-3],
                                                         "clip_threshold": 1.0, "decay_rate": -0.8, "beta1": None,
                                                         "weight_decay": 0.0, "scale_parameter": True,
                                                         "relative_step": True, "warmup_init": False}, g, S, 4,
                 TOL_ADAFACTOR),
        opt_case("x_adafactor_scalar_param_beta1", {**base, "beta1": 0.9, "weight_decay": 0.01}, g, SHAPES_WITH_SCALAR,
                 5, TOL_ADAFACTOR),
        opt_case("x_adafactor_warmup_init_beta1_noscale", {**base, "warmup_init": True, "beta1": 0.8,
                                                           "scale_parameter": False, "clip_threshold": 0.1}, g, S, 5,
                 TOL_ADAFACTOR),
        opt_case("x_adafactor_negative_wd_applies", {**base, "weight_decay": -0.05, "decay_rate": -1.0}, g, S, 4,
                 TOL_ADAFACTOR),
    ]
    return out


def cases_adam_weight_decay() -> list:
    g = Gen(404)
    N = TF_NAMES
    co = lambda **kw: {"type": "create_optimizer", **kw}  # noqa: E731
    zero_some = lambda k, i, s, gen: np.zeros(s, F32) if (k == 2 or i == 3) else gen.arr(s)  # noqa: E731
    base = {"type": "adam_weight_decay"}
    return [
        opt_case("x_tf_awd_all_defaults", dict(base), g, N, 5, TOL_ADAM),
        opt_case("x_tf_awd_exclude_defaults_wd0.01", {**base, "learning_rate": 0.01, "weight_decay_rate": 0.01,
                                                     "exclude_from_weight_decay": ["LayerNorm", "layer_norm",
                                                                                   "bias"]}, g, N, 5, TOL_ADAM),
        opt_case("x_tf_awd_include_supersedes_exclude", {**base, "learning_rate": 0.01, "weight_decay_rate": 0.1,
                                                        "include_in_weight_decay": ["LayerNorm/gamma", "bias:0$"],
                                                        "exclude_from_weight_decay": ["LayerNorm", "layer_norm",
                                                                                      "bias", "embeddings"]},
                 g, N, 5, TOL_ADAM),
        opt_case("x_tf_awd_include_only_everything_decays", {**base, "learning_rate": 0.02, "weight_decay_rate": 0.05,
                                                            "include_in_weight_decay": ["kernel"]}, g, N, 5,
                 TOL_ADAM),
        opt_case("x_tf_awd_regex_features", {**base, "learning_rate": 0.01, "weight_decay_rate": 0.2,
                                             "include_in_weight_decay": [r"^embeddings/"],
                                             "exclude_from_weight_decay": [r"layer_\d+/attention", r"(gamma|beta):0$",
                                                                           r"emb.ddings"]}, g, N, 5, TOL_ADAM),
        opt_case("x_tf_awd_rate0_with_include_no_decay", {**base, "learning_rate": 0.01, "weight_decay_rate": 0.0,
                                                         "include_in_weight_decay": ["kernel", "bias"]}, g, N, 5,
                 TOL_ADAM),
        opt_case("x_tf_awd_amsgrad_wd", {**base, "learning_rate": 0.01, "amsgrad": True, "weight_decay_rate": 0.01,
                                         "exclude_from_weight_decay": ["bias"]}, g, N, 7, TOL_ADAM,
                 grad_fn=lambda k, i, s, gen: gen.arr(s, 2.0 / (k + 1) ** 2)),
        opt_case("x_tf_awd_clipnorm0.5", {**base, "learning_rate": 0.01, "clipnorm": 0.5, "weight_decay_rate": 0.01},
                 g, N, 5, TOL_ADAM, grad_fn=lambda k, i, s, gen: gen.arr(s, 0.05 if i == 1 else 1.0)),
        opt_case("x_tf_awd_global_clipnorm1.0", {**base, "learning_rate": 0.01, "global_clipnorm": 1.0,
                                                 "weight_decay_rate": 0.01}, g, N, 5, TOL_ADAM),
        opt_case("x_tf_awd_global_clipnorm_not_reached", {**base, "learning_rate": 0.01, "global_clipnorm": 100.0},
                 g, N, 5, TOL_ADAM),
        opt_case("x_tf_awd_clipnorm_zero_grads", {**base, "learning_rate": 0.01, "clipnorm": 0.3,
                                                  "weight_decay_rate": 0.02}, g, N, 5, TOL_ADAM, grad_fn=zero_some),
        opt_case("x_tf_awd_global_clipnorm_zero_grads_amsgrad", {**base, "learning_rate": 0.01,
                                                                 "global_clipnorm": 0.3, "amsgrad": True},
                 g, N, 5, TOL_ADAM, grad_fn=zero_some),
        opt_case("x_tf_awd_create_optimizer_W0_power2_min0.1",
                 {**base, "learning_rate": co(init_lr=0.01, num_train_steps=6, num_warmup_steps=0, min_lr_ratio=0.1,
                                              power=2.0),
                  "epsilon": 1e-8, "weight_decay_rate": 0.01, "exclude_from_weight_decay": ["LayerNorm", "layer_norm",
                                                                                            "bias"]},
                 g, N, 8, TOL_ADAM),
        opt_case("x_tf_awd_create_optimizer_W3_T6_past_end",
                 {**base, "learning_rate": co(init_lr=0.02, num_train_steps=6, num_warmup_steps=3),
                  "epsilon": 1e-8, "weight_decay_rate": 0.05, "include_in_weight_decay": ["LayerNorm"],
                  "exclude_from_weight_decay": ["LayerNorm", "layer_norm", "bias"], "clipnorm": 1.0},
                 g, N, 8, TOL_ADAM),
        opt_case("x_tf_awd_betas_eps", {**base, "learning_rate": 0.005, "beta_1": 0.8, "beta_2": 0.99,
                                        "epsilon": 1e-6, "weight_decay_rate": 0.1}, g, N, 5, TOL_ADAM),
        opt_case("x_tf_awd_large_small", {**base, "learning_rate": 0.1, "weight_decay_rate": 0.01}, g, N, 5, TOL_ADAM,
                 pscale=40.0, grad_fn=lambda k, i, s, gen: gen.arr(s, 1e3 if i % 2 == 0 else 1e-6)),
        opt_case("x_tf_awd_python_inline_flags", {**base, "learning_rate": 0.01, "weight_decay_rate": 0.1,
                                                  "include_in_weight_decay": [r"(?x) layer_1 / output  # verbose"],
                                                  "exclude_from_weight_decay": ["(?i)layernorm", "BIAS:0", r"\Aemb"]},
                 g, N, 4, TOL_ADAM),
        opt_case("x_tf_awd_create_optimizer_warmup_power2",
                 {**base, "learning_rate": co(init_lr=0.01, num_train_steps=7, num_warmup_steps=2, min_lr_ratio=0.05,
                                              power=2.0),
                  "epsilon": 1e-8, "weight_decay_rate": 0.01, "global_clipnorm": 0.8, "amsgrad": True},
                 g, N, 8, TOL_ADAM),
        opt_case("x_tf_awd_create_optimizer_warmup_after_train_steps",
                 {**base, "learning_rate": co(init_lr=0.01, num_train_steps=2, num_warmup_steps=3)}, g, N, 5,
                 TOL_ADAM),
        opt_case("x_tf_awd_lr_keras_polynomial_decay_cycle",
                 {**base, "learning_rate": {"type": "tf_polynomial_decay", "initial_learning_rate": 0.01,
                                            "decay_steps": 3, "end_learning_rate": 0.001, "cycle": True},
                  "weight_decay_rate": 0.01}, g, N, 7, TOL_ADAM),
        opt_case("x_tf_awd_lr_warmup_power2",
                 {**base, "learning_rate": {"type": "tf_warmup", "initial_learning_rate": 0.01, "warmup_steps": 2,
                                            "power": 2.0, "decay_schedule": {"type": "tf_polynomial_decay",
                                                                             "initial_learning_rate": 0.01,
                                                                             "decay_steps": 3}},
                  "weight_decay_rate": 0.01}, g, N, 6, TOL_ADAM),
        opt_case("x_tf_awd_beta2_0.99999_f32_one_minus_beta", {**base, "learning_rate": 0.01, "beta_1": 0.99,
                                                               "beta_2": 0.99999, "amsgrad": True}, g, N, 5,
                 TOL_ADAM),
        opt_case("x_tf_awd_large_epsilon_1e-2", {**base, "learning_rate": 0.01, "epsilon": 1e-2,
                                                 "weight_decay_rate": 0.01}, g, N, 5, TOL_ADAM, gscale=0.05),
        opt_case("x_tf_awd_explicit_nulls", {**base, "learning_rate": 0.01, "clipnorm": None, "global_clipnorm": None,
                                             "include_in_weight_decay": None, "exclude_from_weight_decay": None,
                                             "amsgrad": False, "weight_decay_rate": 0.01, "name": "AdamWeightDecay"},
                 g, N, 4, TOL_ADAM),
        opt_case("x_tf_awd_scalar_param", {**base, "learning_rate": 0.01, "clipnorm": 0.5, "weight_decay_rate": 0.01},
                 g, [("global_step_scale:0", ()), ("encoder/bias:0", (3,)), ("encoder/kernel:0", (2, 3))], 4,
                 TOL_ADAM),
    ]


def cases_ort_adamw() -> list:
    g = Gen(505)
    S = SHAPES_BASIC
    base = {"type": "ort_adamw"}
    si = lambda start: (lambda k: {"step_input": start + k})  # noqa: E731
    signals = [True, False, True, True, False, True]

    def with_signal():
        state = {"step": 0}

        def f(k):
            s = signals[k]
            d = {"step_input": state["step"] + 1, "update_signal": s}
            if s:
                state["step"] += 1
            return d
        return f
    lin = make_schedule("linear", {"num_warmup_steps": 2, "num_training_steps": 8}, 1.0)
    return [
        opt_case("x_ort_all_defaults", dict(base), g, S, 5, TOL_ADAM, lrs=[1e-3] * 5, extra_step=si(1)),
        opt_case("x_ort_mode0_wd0", {**base, "alpha": 0.9, "beta": 0.999, "epsilon": 1e-8, "weight_decay": 0.0,
                                     "adam_mode": 0, "correct_bias": 1}, g, S, 5, TOL_ADAM, lrs=[0.01] * 5,
                 extra_step=si(1)),
        opt_case("x_ort_mode1_nobias", {**base, "alpha": 0.9, "beta": 0.999, "epsilon": 1e-6, "weight_decay": 0.01,
                                        "adam_mode": 1, "correct_bias": 0}, g, S, 6, TOL_ADAM, lrs=[0.01] * 6,
                 extra_step=si(1)),
        opt_case("x_ort_mode1_bias_wd0_schedule", {**base, "epsilon": 1e-6, "weight_decay": 0.0, "adam_mode": 1,
                                                   "correct_bias": 1}, g, S, 8, TOL_ADAM,
                 lrs=sched_lrs(lin, 0.05, 8), extra_step=si(1)),
        opt_case("x_ort_mode0_update_signal", {**base, "weight_decay": 0.01, "adam_mode": 0, "correct_bias": 1}, g, S,
                 6, TOL_ADAM, lrs=[0.01] * 6, extra_step=with_signal()),
        opt_case("x_ort_mode1_update_signal", {**base, "epsilon": 1e-6, "weight_decay": 0.1, "adam_mode": 1,
                                               "correct_bias": 1}, g, S, 6, TOL_ADAM, lrs=[0.02] * 6,
                 extra_step=with_signal()),
        opt_case("x_ort_mode0_step_input_resumed_at_10", {**base, "weight_decay": 0.01, "adam_mode": 0},
                 g, S, 5, TOL_ADAM, lrs=[0.01] * 5, extra_step=si(10)),
        opt_case("x_ort_mode1_step_input_1000", {**base, "epsilon": 1e-6, "weight_decay": 0.01, "adam_mode": 1},
                 g, S, 5, TOL_ADAM, lrs=[0.01] * 5, extra_step=si(1000)),
        opt_case("x_ort_mode0_alpha0.5_beta0.9", {**base, "alpha": 0.5, "beta": 0.9, "epsilon": 1e-6,
                                                  "weight_decay": 0.05, "adam_mode": 0, "correct_bias": 1}, g, S, 6,
                 TOL_ADAM, lrs=[0.03] * 6, extra_step=si(1)),
        opt_case("x_ort_mode1_tiny_grads", {**base, "epsilon": 1e-6, "weight_decay": 0.01, "adam_mode": 1,
                                            "correct_bias": 1}, g, S, 5, TOL_ADAM, lrs=[0.01] * 5, gscale=1e-7,
                 extra_step=si(1)),
        opt_case("x_ort_mode0_tiny_grads", {**base, "epsilon": 1e-8, "weight_decay": 0.01, "adam_mode": 0,
                                            "correct_bias": 1}, g, S, 5, TOL_ADAM, lrs=[0.01] * 5, gscale=1e-8,
                 extra_step=si(1)),
        opt_case("x_ort_mode0_large", {**base, "weight_decay": 0.01, "adam_mode": 0}, g, S, 5, TOL_ADAM,
                 lrs=[0.3] * 5, pscale=50.0, gscale=1e3, extra_step=si(1)),
        opt_case("x_ort_bool_attrs_mode1_nobias_step0", {**base, "epsilon": 1e-6, "weight_decay": 0.02,
                                                         "adam_mode": 1, "correct_bias": False}, g, S, 4, TOL_ADAM,
                 lrs=[0.01] * 4, extra_step=lambda k: {"step_input": 0}),
        opt_case("x_ort_bool_attrs_mode0", {**base, "weight_decay": 0.01, "adam_mode": 0, "correct_bias": True}, g, S,
                 4, TOL_ADAM, lrs=[0.01] * 4, extra_step=si(1)),
        opt_case("x_ort_first_update_skipped", {**base, "weight_decay": 0.01, "adam_mode": 1, "epsilon": 1e-6}, g, S,
                 4, TOL_ADAM, lrs=[0.01] * 4,
                 extra_step=lambda k: {"step_input": max(1, k), "update_signal": k != 0}),
        opt_case("x_ort_mode0_beta_0.99999_large_eps", {**base, "alpha": 0.99, "beta": 0.99999, "epsilon": 1e-2,
                                                        "weight_decay": 0.01, "adam_mode": 0}, g, S, 5, TOL_ADAM,
                 lrs=[0.01] * 5, gscale=0.05, extra_step=si(1)),
        opt_case("x_ort_mode1_beta_0.99999_large_eps", {**base, "alpha": 0.99, "beta": 0.99999, "epsilon": 1e-2,
                                                        "weight_decay": 0.01, "adam_mode": 1}, g, S, 5, TOL_ADAM,
                 lrs=[0.01] * 5, gscale=0.05, extra_step=si(1)),
        opt_case("x_ort_scalar_param", {**base, "weight_decay": 0.01, "adam_mode": 0}, g, SHAPES_WITH_SCALAR, 4,
                 TOL_ADAM, lrs=[0.01] * 4, extra_step=si(1)),
    ]


def cases_onnx_adam() -> list:
    g = Gen(606)
    S = SHAPES_BASIC
    base = {"type": "onnx_adam"}
    rt = lambda R, start=1: (lambda k: {"R": R[k] if isinstance(R, list) else R, "T": start + k})  # noqa: E731
    zero_some = lambda k, i, s, gen: np.zeros(s, F32) if (k == 1 or i == 0) else gen.arr(s)  # noqa: E731
    return [
        opt_case("x_onnx_adam_all_defaults", dict(base), g, S, 6, TOL_ADAM, extra_step=rt(0.01)),
        opt_case("x_onnx_adam_norm_coefficient", {**base, "norm_coefficient": 0.01}, g, S, 6, TOL_ADAM,
                 extra_step=rt(0.01)),
        opt_case("x_onnx_adam_norm_coefficient_post", {**base, "norm_coefficient_post": 0.001}, g, S, 6, TOL_ADAM,
                 extra_step=rt(0.01)),
        opt_case("x_onnx_adam_both_coefficients_custom", {**base, "alpha": 0.8, "beta": 0.99, "epsilon": 1e-8,
                                                          "norm_coefficient": 0.1, "norm_coefficient_post": 0.01},
                 g, S, 6, TOL_ADAM, extra_step=rt(0.02)),
        opt_case("x_onnx_adam_T0_no_bias_correction", {**base, "norm_coefficient_post": 0.0001}, g, S, 5, TOL_ADAM,
                 extra_step=lambda k: {"R": 0.01, "T": 0}),
        opt_case("x_onnx_adam_T_starts_at_5", dict(base), g, S, 5, TOL_ADAM, extra_step=rt(0.01, 5)),
        opt_case("x_onnx_adam_R_schedule_with_zero", {**base, "norm_coefficient": 0.001}, g, S, 6, TOL_ADAM,
                 extra_step=rt([0.0, 0.01, 0.02, 0.015, 0.005, 0.001])),
        opt_case("x_onnx_adam_zero_grads", {**base, "norm_coefficient_post": 0.001}, g, S, 5, TOL_ADAM,
                 extra_step=rt(0.01), grad_fn=zero_some),
        opt_case("x_onnx_adam_large", {**base, "epsilon": 1e-6}, g, S, 5, TOL_ADAM, extra_step=rt(0.5),
                 pscale=50.0, gscale=1e3),
        opt_case("x_onnx_adam_beta_0.99999_large_eps", {**base, "alpha": 0.99, "beta": 0.99999, "epsilon": 1e-2,
                                                        "norm_coefficient": 0.01}, g, S, 5, TOL_ADAM,
                 extra_step=rt(0.01), gscale=0.05),
        opt_case("x_onnx_adam_scalar_param_T_jumps", {**base, "norm_coefficient": 0.01}, g, SHAPES_WITH_SCALAR, 4,
                 TOL_ADAM, extra_step=lambda k: {"R": 0.01, "T": [1, 0, 7, 3][k]}),
    ]


# --- schedules -----------------------------------------------------------------------------------------------------

def sched_case(cid: str, schedule: dict, steps: list, *, base_lr=10.0, default_lr=None, tol=None) -> dict:
    t = schedule["type"]
    dl = base_lr if default_lr is None else default_lr
    if "get_scheduler" in schedule:
        gs = schedule["get_scheduler"]
        fn = get_scheduler(t, gs.get("num_warmup_steps"), gs.get("num_training_steps"),
                           gs.get("scheduler_specific_kwargs"), default_lr=dl)
    else:
        fn = make_schedule(t, {k: v for k, v in schedule.items() if k != "type"}, dl)
    c = {"id": cid, "kind": "schedule", "schedule": schedule, "base_lr": base_lr}
    if default_lr is not None:
        c["default_lr"] = default_lr
    c["steps"] = list(steps)
    c["expect_lr"] = [jf64(base_lr * fn(s)) for s in steps]
    c["tolerance"] = dict(tol or TOL_SCHEDULE)
    return c


def rng_steps(n):
    return list(range(n))


def cases_schedules() -> list:
    C = sched_case
    R = rng_steps
    out = [
        # constant / constant_with_warmup
        C("x_sched_constant_base_0.5", {"type": "constant"}, R(5), base_lr=0.5),
        C("x_sched_constant_with_warmup_W0", {"type": "constant_with_warmup", "num_warmup_steps": 0}, R(4)),
        C("x_sched_constant_with_warmup_W1", {"type": "constant_with_warmup", "num_warmup_steps": 1}, R(4)),
        C("x_sched_constant_with_warmup_W7", {"type": "constant_with_warmup", "num_warmup_steps": 7}, R(10)),
        # linear
        C("x_sched_linear_W0_T5", {"type": "linear", "num_warmup_steps": 0, "num_training_steps": 5}, R(8)),
        C("x_sched_linear_W1_T1", {"type": "linear", "num_warmup_steps": 1, "num_training_steps": 1}, R(4)),
        C("x_sched_linear_W4_T4_equal", {"type": "linear", "num_warmup_steps": 4, "num_training_steps": 4}, R(7)),
        C("x_sched_linear_W5_T3_T_before_W", {"type": "linear", "num_warmup_steps": 5, "num_training_steps": 3},
          R(8)),
        C("x_sched_linear_huge_steps", {"type": "linear", "num_warmup_steps": 1000, "num_training_steps": 60000000},
          [0, 999, 1000, 16777217, 33554433, 59999999, 60000000, 60000001]),
        C("x_sched_linear_large_steps", {"type": "linear", "num_warmup_steps": 100, "num_training_steps": 100000},
          [0, 1, 50, 99, 100, 101, 5000, 50000, 99998, 99999, 100000, 100001, 250000]),
        # cosine
        C("x_sched_cosine_defaults_W3_T13", {"type": "cosine", "num_warmup_steps": 3, "num_training_steps": 13},
          R(20)),
        C("x_sched_cosine_c1", {"type": "cosine", "num_warmup_steps": 2, "num_training_steps": 10, "num_cycles": 1},
          R(16)),
        C("x_sched_cosine_c2_int", {"type": "cosine", "num_warmup_steps": 0, "num_training_steps": 8,
                                    "num_cycles": 2}, R(12)),
        C("x_sched_cosine_c0.25", {"type": "cosine", "num_warmup_steps": 1, "num_training_steps": 9,
                                   "num_cycles": 0.25}, R(14)),
        C("x_sched_cosine_c1.5", {"type": "cosine", "num_warmup_steps": 2, "num_training_steps": 12,
                                  "num_cycles": 1.5}, R(16)),
        C("x_sched_cosine_c0_constant_after_warmup", {"type": "cosine", "num_warmup_steps": 3,
                                                      "num_training_steps": 10, "num_cycles": 0.0}, R(12)),
        C("x_sched_cosine_W_equals_T_alternates", {"type": "cosine", "num_warmup_steps": 4, "num_training_steps": 4},
          R(10)),
        C("x_sched_cosine_large_steps", {"type": "cosine", "num_warmup_steps": 500, "num_training_steps": 20000},
          [0, 250, 499, 500, 501, 1000, 10250, 19999, 20000, 20001, 30000, 39500]),
        C("x_sched_cosine_huge_steps_c0.3", {"type": "cosine", "num_warmup_steps": 1000,
                                             "num_training_steps": 60000000, "num_cycles": 0.3},
          [0, 999, 1000, 16777217, 33554433, 59999999, 60000000, 90000001]),
        # cosine_with_restarts
        C("x_sched_restarts_defaults", {"type": "cosine_with_restarts", "num_warmup_steps": 2,
                                        "num_training_steps": 10}, R(14)),
        C("x_sched_restarts_c0.5", {"type": "cosine_with_restarts", "num_warmup_steps": 1, "num_training_steps": 9,
                                    "num_cycles": 0.5}, R(12)),
        C("x_sched_restarts_c1.5", {"type": "cosine_with_restarts", "num_warmup_steps": 0, "num_training_steps": 12,
                                    "num_cycles": 1.5}, R(15)),
        C("x_sched_restarts_c4_W3_T11", {"type": "cosine_with_restarts", "num_warmup_steps": 3,
                                         "num_training_steps": 11, "num_cycles": 4}, R(14)),
        C("x_sched_restarts_W_equals_T", {"type": "cosine_with_restarts", "num_warmup_steps": 3,
                                          "num_training_steps": 3, "num_cycles": 2}, R(7)),
        C("x_sched_restarts_c0", {"type": "cosine_with_restarts", "num_warmup_steps": 1, "num_training_steps": 6,
                                  "num_cycles": 0}, R(9)),
        C("x_sched_restarts_c2.7", {"type": "cosine_with_restarts", "num_warmup_steps": 1, "num_training_steps": 11,
                                    "num_cycles": 2.7}, R(14)),
        C("x_sched_restarts_huge_steps", {"type": "cosine_with_restarts", "num_warmup_steps": 1000,
                                          "num_training_steps": 60000000, "num_cycles": 3},
          [0, 999, 1000, 16777217, 20000333, 33554433, 59999999, 60000000]),
        # polynomial
        C("x_sched_poly_defaults", {"type": "polynomial", "num_warmup_steps": 2, "num_training_steps": 10}, R(14)),
        C("x_sched_poly_power3_end0.5", {"type": "polynomial", "num_warmup_steps": 1, "num_training_steps": 9,
                                         "power": 3.0, "lr_end": 0.5}, R(13)),
        C("x_sched_poly_power0.3_W0", {"type": "polynomial", "num_warmup_steps": 0, "num_training_steps": 7,
                                       "power": 0.3, "lr_end": 1e-3}, R(10)),
        C("x_sched_poly_default_lr_differs", {"type": "polynomial", "num_warmup_steps": 2, "num_training_steps": 8,
                                              "lr_end": 0.1, "power": 2.0}, R(12), base_lr=10.0, default_lr=1.0),
        C("x_sched_poly_default_lr_larger", {"type": "polynomial", "num_warmup_steps": 0, "num_training_steps": 5,
                                             "lr_end": 2.0}, R(8), base_lr=3.0, default_lr=20.0),
        C("x_sched_poly_lr_end0", {"type": "polynomial", "num_warmup_steps": 3, "num_training_steps": 9,
                                   "lr_end": 0.0, "power": 1.0}, R(12)),
        C("x_sched_poly_W_equals_T_skip_T", {"type": "polynomial", "num_warmup_steps": 4, "num_training_steps": 4,
                                             "lr_end": 1.0}, [0, 1, 2, 3, 5, 6, 9]),
        C("x_sched_poly_power0", {"type": "polynomial", "num_warmup_steps": 1, "num_training_steps": 5,
                                  "power": 0.0, "lr_end": 1.0}, R(8)),
        # inverse_sqrt
        C("x_sched_isqrt_W0_default_timescale_10000", {"type": "inverse_sqrt", "num_warmup_steps": 0},
          [0, 1, 2, 10, 100, 1000, 9999, 10000, 30000, 100000]),
        C("x_sched_isqrt_W3", {"type": "inverse_sqrt", "num_warmup_steps": 3}, R(15)),
        C("x_sched_isqrt_W5_timescale2", {"type": "inverse_sqrt", "num_warmup_steps": 5, "timescale": 2}, R(15)),
        C("x_sched_isqrt_W0_timescale4", {"type": "inverse_sqrt", "num_warmup_steps": 0, "timescale": 4}, R(10)),
        C("x_sched_isqrt_huge_steps", {"type": "inverse_sqrt", "num_warmup_steps": 0},
          [0, 16777217, 33554433, 1000000007]),
        C("x_sched_isqrt_W2_timescale2.5_float", {"type": "inverse_sqrt", "num_warmup_steps": 2, "timescale": 2.5},
          R(10)),
        C("x_sched_isqrt_W1_timescale_None", {"type": "inverse_sqrt", "num_warmup_steps": 1, "timescale": None},
          R(8)),
        # cosine_with_min_lr
        C("x_sched_cmin_min_lr_abs", {"type": "cosine_with_min_lr", "num_warmup_steps": 2, "num_training_steps": 10,
                                      "min_lr": 1.0}, R(15)),
        C("x_sched_cmin_min_lr_default_lr_differs", {"type": "cosine_with_min_lr", "num_warmup_steps": 2,
                                                     "num_training_steps": 10, "min_lr": 0.05}, R(14),
          base_lr=10.0, default_lr=0.5),
        C("x_sched_cmin_rate_c1", {"type": "cosine_with_min_lr", "num_warmup_steps": 0, "num_training_steps": 8,
                                   "num_cycles": 1.0, "min_lr_rate": 0.2}, R(12)),
        C("x_sched_cmin_rate0_equals_cosine", {"type": "cosine_with_min_lr", "num_warmup_steps": 3,
                                               "num_training_steps": 9, "min_lr_rate": 0.0}, R(14)),
        C("x_sched_cmin_explicit_nulls", {"type": "cosine_with_min_lr", "num_warmup_steps": 2,
                                          "num_training_steps": 8, "num_cycles": 0.5, "min_lr": None,
                                          "min_lr_rate": 0.1}, R(10)),
        C("x_sched_cmin_W_equals_T", {"type": "cosine_with_min_lr", "num_warmup_steps": 3, "num_training_steps": 3,
                                      "min_lr_rate": 0.1}, R(8)),
        # cosine_warmup_with_min_lr
        C("x_sched_cwmin_default", {"type": "cosine_warmup_with_min_lr", "num_warmup_steps": 4,
                                    "num_training_steps": 12, "min_lr_rate": 0.1}, R(16)),
        C("x_sched_cwmin_warmup_lr_rate", {"type": "cosine_warmup_with_min_lr", "num_warmup_steps": 4,
                                           "num_training_steps": 12, "min_lr_rate": 0.05, "warmup_lr_rate": 0.2},
          R(16)),
        C("x_sched_cwmin_warmup_lr_rate_W1", {"type": "cosine_warmup_with_min_lr", "num_warmup_steps": 1,
                                              "num_training_steps": 6, "min_lr_rate": 0.1, "warmup_lr_rate": 0.5},
          R(9)),
        C("x_sched_cwmin_min_lr_default_lr", {"type": "cosine_warmup_with_min_lr", "num_warmup_steps": 2,
                                              "num_training_steps": 8, "min_lr": 0.2, "num_cycles": 1.0}, R(12),
          base_lr=4.0, default_lr=2.0),
        C("x_sched_cwmin_explicit_nulls", {"type": "cosine_warmup_with_min_lr", "num_warmup_steps": 2,
                                           "num_training_steps": 8, "min_lr": None, "min_lr_rate": 0.1,
                                           "warmup_lr_rate": None}, R(10)),
        C("x_sched_cwmin_W0", {"type": "cosine_warmup_with_min_lr", "num_warmup_steps": 0, "num_training_steps": 6,
                               "min_lr_rate": 0.1}, R(9)),
        # warmup_stable_decay: every warmup_type x decay_type
    ]
    types = ["linear", "cosine", "1-sqrt"]
    for wt in types:
        for dt in types:
            out.append(C(f"x_sched_wsd_{wt}_{dt}_W4_S2_D5_min0.05",
                         {"type": "warmup_stable_decay", "num_warmup_steps": 4, "num_stable_steps": 2,
                          "num_decay_steps": 5, "warmup_type": wt, "decay_type": dt, "min_lr_ratio": 0.05}, R(14)))
    out += [
        C("x_sched_wsd_defaults_S_given", {"type": "warmup_stable_decay", "num_warmup_steps": 2, "num_stable_steps": 3,
                                           "num_decay_steps": 4}, R(12)),
        C("x_sched_wsd_S_wins_over_T", {"type": "warmup_stable_decay", "num_warmup_steps": 2, "num_stable_steps": 1,
                                        "num_decay_steps": 3, "num_training_steps": 20}, R(10)),
        C("x_sched_wsd_negative_S", {"type": "warmup_stable_decay", "num_warmup_steps": 3, "num_decay_steps": 6,
                                     "num_training_steps": 8, "decay_type": "linear", "min_lr_ratio": 0.1}, R(12)),
        C("x_sched_wsd_W0_D0", {"type": "warmup_stable_decay", "num_warmup_steps": 0, "num_stable_steps": 3,
                                "num_decay_steps": 0, "min_lr_ratio": 0.3}, R(6)),
        C("x_sched_wsd_cosine_c1", {"type": "warmup_stable_decay", "num_warmup_steps": 1, "num_stable_steps": 1,
                                    "num_decay_steps": 6, "decay_type": "cosine", "num_cycles": 1.0,
                                    "min_lr_ratio": 0.1}, R(10)),
        C("x_sched_wsd_cosine_c0.25", {"type": "warmup_stable_decay", "num_warmup_steps": 2, "num_training_steps": 10,
                                       "num_decay_steps": 5, "warmup_type": "cosine", "num_cycles": 0.25}, R(12)),
        C("x_sched_wsd_1sqrt_warmup_min0", {"type": "warmup_stable_decay", "num_warmup_steps": 5,
                                            "num_stable_steps": 0, "num_decay_steps": 5, "warmup_type": "1-sqrt",
                                            "decay_type": "1-sqrt"}, R(12)),
        C("x_sched_wsd_T_null_S_given", {"type": "warmup_stable_decay", "num_warmup_steps": 2, "num_decay_steps": 3,
                                         "num_training_steps": None, "num_stable_steps": 2}, R(9)),
        C("x_sched_wsd_cosine_c0.3", {"type": "warmup_stable_decay", "num_warmup_steps": 3, "num_stable_steps": 2,
                                      "num_decay_steps": 4, "decay_type": "cosine", "num_cycles": 0.3,
                                      "min_lr_ratio": 0.1}, R(11)),
        C("x_sched_wsd_D1", {"type": "warmup_stable_decay", "num_warmup_steps": 1, "num_stable_steps": 2,
                             "num_decay_steps": 1, "min_lr_ratio": 0.25}, R(6)),
    ]
    # get_scheduler: what reaches the factory
    G = lambda t, W=None, T=None, kw=None: {"type": t, "get_scheduler": {  # noqa: E731
        **({"num_warmup_steps": W} if W is not None else {}),
        **({"num_training_steps": T} if T is not None else {}),
        **({"scheduler_specific_kwargs": kw} if kw is not None else {})}}
    out += [
        C("x_gs_constant_ignores_everything", G("constant", 5, 10, {"num_cycles": 3, "anything": 1}), R(6)),
        C("x_gs_constant_no_args", G("constant"), R(3), base_lr=2.0),
        C("x_gs_constant_with_warmup_drops_kwargs", G("constant_with_warmup", 3, 10, {"num_cycles": 2}), R(6)),
        C("x_gs_inverse_sqrt_drops_timescale", G("inverse_sqrt", 2, 10, {"timescale": 100}), R(10)),
        C("x_gs_inverse_sqrt_W0_timescale_10000", G("inverse_sqrt", 0, None, {"timescale": 3}),
          [0, 1, 5, 100, 10000, 40000]),
        C("x_gs_linear", G("linear", 2, 8), R(10)),
        C("x_gs_linear_empty_kwargs", G("linear", 0, 4, {}), R(6)),
        C("x_gs_explicit_null_kwargs", {"type": "cosine", "get_scheduler": {
            "num_warmup_steps": 2, "num_training_steps": 8, "scheduler_specific_kwargs": None}}, R(10)),
        C("x_gs_inverse_sqrt_null_T", {"type": "inverse_sqrt", "get_scheduler": {
            "num_warmup_steps": 3, "num_training_steps": None, "scheduler_specific_kwargs": None}}, R(8)),
        C("x_gs_constant_all_null", {"type": "constant", "get_scheduler": {
            "num_warmup_steps": None, "num_training_steps": None, "scheduler_specific_kwargs": None}}, R(3)),
        C("x_gs_cosine_num_cycles", G("cosine", 1, 9, {"num_cycles": 1.0}), R(12)),
        C("x_gs_restarts_num_cycles", G("cosine_with_restarts", 2, 10, {"num_cycles": 3}), R(12)),
        C("x_gs_polynomial_kwargs", G("polynomial", 2, 10, {"lr_end": 0.5, "power": 2.0}), R(13)),
        C("x_gs_polynomial_default_lr", G("polynomial", 1, 6, {"lr_end": 0.1}), R(9), base_lr=5.0, default_lr=1.0),
        C("x_gs_cosine_with_min_lr_min_lr", G("cosine_with_min_lr", 2, 10, {"min_lr": 0.5}), R(13)),
        C("x_gs_cosine_warmup_with_min_lr", G("cosine_warmup_with_min_lr", 3, 10, {"min_lr_rate": 0.1,
                                                                                    "warmup_lr_rate": 0.1}), R(13)),
        C("x_gs_wsd_T_none_S_given", G("warmup_stable_decay", 2, None, {"num_decay_steps": 3, "num_stable_steps": 2,
                                                                       "decay_type": "1-sqrt"}), R(10)),
        C("x_gs_wsd_both_S_wins", G("warmup_stable_decay", 1, 30, {"num_decay_steps": 2, "num_stable_steps": 2,
                                                                  "warmup_type": "cosine",
                                                                  "min_lr_ratio": 0.2}), R(8)),
        C("x_gs_wsd_T_minus_W_minus_D", G("warmup_stable_decay", 2, 9, {"num_decay_steps": 4,
                                                                       "warmup_type": "1-sqrt"}), R(12)),
    ]
    return out


def tf_sched_case(cid: str, schedule: dict, steps: list) -> dict:
    lrs = [tf_schedule(schedule, s) for s in steps]
    init = schedule.get("init_lr", schedule.get("initial_learning_rate"))
    return {"id": cid, "kind": "schedule", "schedule": schedule, "steps": list(steps), "expect_lr": jf32(lrs),
            "tolerance": {"rtol": 2e-6, "atol": float(f"{init * 5e-7:.3g}")}}


def cases_schedules_tf() -> list:
    C = tf_sched_case
    R = rng_steps
    pd = lambda **kw: {"type": "tf_polynomial_decay", **kw}  # noqa: E731
    return [
        C("x_tf_pd_power2_end", pd(initial_learning_rate=0.1, decay_steps=8, end_learning_rate=0.01, power=2.0),
          R(12)),
        C("x_tf_pd_power0.5", pd(initial_learning_rate=0.01, decay_steps=5, end_learning_rate=0.0, power=0.5), R(8)),
        C("x_tf_pd_cycle", pd(initial_learning_rate=0.01, decay_steps=4, end_learning_rate=0.001, cycle=True), R(14)),
        C("x_tf_pd_cycle_power2", pd(initial_learning_rate=1.0, decay_steps=3, end_learning_rate=0.1, power=2.0,
                                     cycle=True), R(11)),
        C("x_tf_pd_cycle_false_explicit", pd(initial_learning_rate=0.5, decay_steps=6, cycle=False), R(9)),
        C("x_tf_pd_increasing_end_above_initial", pd(initial_learning_rate=0.001, decay_steps=4,
                                                     end_learning_rate=0.01, power=2.0), R(7)),
        C("x_tf_pd_power0", pd(initial_learning_rate=0.01, decay_steps=3, end_learning_rate=0.001, power=0.0), R(6)),
        C("x_tf_pd_decay_steps1", pd(initial_learning_rate=0.2, decay_steps=1, end_learning_rate=0.05), R(4)),
        C("x_tf_warmup_linear_over_pd", {"type": "tf_warmup", "initial_learning_rate": 0.01, "warmup_steps": 4,
                                         "decay_schedule": pd(initial_learning_rate=0.01, decay_steps=6,
                                                              end_learning_rate=0.0)}, R(13)),
        C("x_tf_warmup_power0.5", {"type": "tf_warmup", "initial_learning_rate": 0.002, "warmup_steps": 5,
                                   "power": 0.5, "decay_schedule": pd(initial_learning_rate=0.002, decay_steps=5,
                                                                      end_learning_rate=0.0002, power=2.0)}, R(12)),
        C("x_tf_warmup_init_differs_from_decay", {"type": "tf_warmup", "initial_learning_rate": 0.05,
                                                  "warmup_steps": 3,
                                                  "decay_schedule": pd(initial_learning_rate=0.01, decay_steps=4)},
          R(9)),
        C("x_tf_warmup_over_cycle", {"type": "tf_warmup", "initial_learning_rate": 0.01, "warmup_steps": 2,
                                     "decay_schedule": pd(initial_learning_rate=0.01, decay_steps=3,
                                                          end_learning_rate=0.001, cycle=True)}, R(12)),
        C("x_tf_warmup_steps0", {"type": "tf_warmup", "initial_learning_rate": 0.01, "warmup_steps": 0,
                                 "decay_schedule": pd(initial_learning_rate=0.01, decay_steps=5)}, R(7)),
        C("x_tf_warmup_nested_warmup", {"type": "tf_warmup", "initial_learning_rate": 0.01, "warmup_steps": 2,
                                        "decay_schedule": {"type": "tf_warmup", "initial_learning_rate": 0.02,
                                                           "warmup_steps": 3, "power": 2.0,
                                                           "decay_schedule": pd(initial_learning_rate=0.02,
                                                                                decay_steps=4)}}, R(12)),
        C("x_tf_co_warmup_longer_than_train", {"type": "create_optimizer", "init_lr": 0.01, "num_train_steps": 2,
                                               "num_warmup_steps": 3}, R(6)),
        C("x_tf_co_huge_steps", {"type": "create_optimizer", "init_lr": 0.001, "num_train_steps": 50000000,
                                 "num_warmup_steps": 10}, [0, 5, 10, 11, 16777217, 33554433, 49999999, 50000000]),
        C("x_tf_co_W0", {"type": "create_optimizer", "init_lr": 0.001, "num_train_steps": 6, "num_warmup_steps": 0},
          R(9)),
        C("x_tf_co_min_lr_ratio_power2", {"type": "create_optimizer", "init_lr": 0.01, "num_train_steps": 10,
                                          "num_warmup_steps": 3, "min_lr_ratio": 0.1, "power": 2.0}, R(13)),
        C("x_tf_co_warmup_keeps_power1", {"type": "create_optimizer", "init_lr": 0.003, "num_train_steps": 8,
                                          "num_warmup_steps": 4, "power": 0.5}, R(11)),
        C("x_tf_co_optimizer_args_ignored", {"type": "create_optimizer", "init_lr": 5e-5, "num_train_steps": 7,
                                             "num_warmup_steps": 2, "min_lr_ratio": 0.2, "adam_beta1": 0.8,
                                             "adam_epsilon": 1e-6, "weight_decay_rate": 0.01}, R(10)),
        C("x_tf_co_large_steps", {"type": "create_optimizer", "init_lr": 0.0001, "num_train_steps": 100000,
                                  "num_warmup_steps": 1000},
          [0, 1, 500, 999, 1000, 1001, 50000, 99999, 100000, 150000]),
    ]


# --- plateau -------------------------------------------------------------------------------------------------------

def plateau_case(cid: str, kwargs: dict, initial_lrs: list, metrics: list) -> dict:
    return {"id": cid, "kind": "plateau", "kwargs": kwargs, "initial_lrs": initial_lrs, "metrics": metrics,
            "expect": run_plateau(kwargs, initial_lrs, metrics), "tolerance": dict(TOL_PLATEAU)}


def cases_plateau() -> list:
    P = plateau_case
    flat = [1.0] * 14
    noisy = [5.0, 4.0, 4.5, 4.2, 3.9, 3.95, 3.9, 3.91, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0, 3.2, 3.3, 3.4, 3.5]
    rising = [0.1, 0.2, 0.25, 0.24, 0.25, 0.26, 0.2, 0.19, 0.3, 0.3, 0.3, 0.31, 0.29, 0.28]
    return [
        P("x_plateau_constant_metric_p3", {"patience": 3}, [1.0], flat),
        P("x_plateau_patience0", {"patience": 0, "factor": 0.5}, [1.0], noisy),
        P("x_plateau_min_abs", {"threshold_mode": "abs", "threshold": 0.2, "patience": 1, "factor": 0.5}, [2.0],
          noisy),
        P("x_plateau_max_abs", {"mode": "max", "threshold_mode": "abs", "threshold": 0.02, "patience": 1,
                                "factor": 0.3}, [1.0], rising),
        P("x_plateau_max_rel_cooldown", {"mode": "max", "threshold": 0.05, "patience": 1, "cooldown": 2,
                                         "factor": 0.5}, [0.1], rising),
        P("x_plateau_cooldown3_p0", {"patience": 0, "cooldown": 3, "factor": 0.5}, [8.0], noisy),
        P("x_plateau_min_lr_scalar_clamps", {"patience": 0, "factor": 0.1, "min_lr": 0.05}, [1.0], flat),
        P("x_plateau_min_lr_list_groups", {"patience": 1, "factor": 0.5, "min_lr": [0.1, 0.3, 0.0]},
          [1.0, 1.0, 0.001], flat),
        P("x_plateau_eps_vetoes_small_reduction", {"patience": 0, "factor": 0.5, "eps": 0.01}, [0.1, 0.04, 1.0],
          flat),
        P("x_plateau_eps_default_tiny_lr", {"patience": 0, "factor": 0.5}, [1e-7, 3e-8], flat),
        P("x_plateau_negative_metrics_rel_backwards", {"patience": 1, "threshold": 0.1, "factor": 0.5}, [1.0],
          [-1.0, -0.95, -0.92, -1.0, -1.05, -1.2, -1.1, -1.1, -1.1, -1.5, -1.4]),
        P("x_plateau_max_negative_metrics", {"mode": "max", "patience": 1, "threshold": 0.1, "factor": 0.5}, [1.0],
          [-1.0, -1.05, -0.95, -0.9, -0.89, -0.5, -0.5, -0.5, -0.6]),
        P("x_plateau_threshold_boundary_rel", {"patience": 0, "threshold": 0.1, "factor": 0.5}, [1.0],
          [1.0, 0.9, 0.8999999999999999, 0.81, 0.8099999999999999, 0.729, 0.7290000000000001]),
        P("x_plateau_threshold_boundary_abs", {"patience": 0, "threshold_mode": "abs", "threshold": 0.25,
                                               "factor": 0.5}, [1.0], [2.0, 1.75, 1.7499999999999998, 1.5, 1.5]),
        P("x_plateau_threshold0_equal_not_better", {"patience": 1, "threshold": 0.0, "factor": 0.5}, [1.0],
          [2.0, 2.0, 2.0, 1.9999999, 2.0, 2.0, 2.0]),
        P("x_plateau_all_kwargs", {"mode": "min", "factor": 0.25, "patience": 2, "threshold": 0.01,
                                   "threshold_mode": "rel", "cooldown": 1, "min_lr": [0.001, 0.002], "eps": 1e-6},
          [0.5, 0.02], noisy + noisy[::-1]),
        P("x_plateau_min_lr_above_current_lr_no_change", {"patience": 0, "factor": 0.5, "min_lr": [0.5, 0.01]},
          [0.2, 1.0], flat[:6]),
        P("x_plateau_factor0", {"patience": 0, "factor": 0.0, "min_lr": 0.01}, [1.0], [3.0, 3.0, 3.0, 2.0, 2.0]),
        P("x_plateau_single_metric", {}, [0.1], [0.5]),
    ]


# --- accumulator ---------------------------------------------------------------------------------------------------

def acc_case(cid: str, ops: list) -> dict:
    return {"id": cid, "kind": "accumulator", "script": run_accumulator(ops), "tolerance": dict(TOL_ACCUMULATOR)}


def cases_accumulator() -> list:
    A = acc_case
    call = lambda *args: {"op": "call", "args": list(args)}  # noqa: E731
    reset = {"op": "reset"}
    get = {"op": "get_gradients"}
    return [
        A("x_acc_reset_before_first_call", [reset, get, call([1.0, 2.0, 3.0]), get]),
        A("x_acc_none_first_stays_none", [call(None, [1.0, -1.0]), call([5.0, 5.0], [0.5, 0.25]), get,
                                          call(None, [1.0, 1.0])]),
        A("x_acc_none_later_skips", [call([1.0], [2.0, 3.0]), call(None, [1.0, 1.0]), call([0.5], None), get]),
        A("x_acc_all_none", [call(None, None), get, call(None, None), reset, get]),
        A("x_acc_mismatch_shorter_and_longer", [call([1.0, 2.0], [3.0], [4.0, 5.0, 6.0]), call([1.0, 1.0]),
                                                call([1.0, 1.0], [1.0], [1.0, 1.0, 1.0], [9.0]),
                                                call([0.5, 0.5], [0.5], [0.5, 0.5, 0.5]), get]),
        A("x_acc_reset_keeps_shapes_and_none", [call([1.0, 2.0], None, [3.0]), call([1.0, 1.0], None, [1.0]), reset,
                                                get, call([0.25, 0.5], [7.0], [2.0]), get, reset, reset]),
        A("x_acc_many_calls_float32_sums", [call([0.1, 1e-3, 1e6]), call([0.2, 1e-3, 1.0]), call([0.3, 1e-3, 0.1]),
                                            call([0.4, -3e-3, -1e6]), get]),
        A("x_acc_mismatch_then_reset", [call([1.0]), call([1.0], [2.0]), reset, call([2.0], [3.0]), call([3.0])]),
        A("x_acc_empty_list_first_call", [call(), reset, get, call([1.0, 2.0]), get, call([1.0, 1.0])]),
    ]


# ------------------------------------------------------------------------------------------------------------------

KINDS: dict[str, Callable[[], list]] = {
    "adamw": cases_adamw,
    "adamw_torch": cases_adamw_torch,
    "adafactor": cases_adafactor,
    "adam_weight_decay": cases_adam_weight_decay,
    "ort_adamw": cases_ort_adamw,
    "onnx_adam": cases_onnx_adam,
    "schedules": cases_schedules,
    "schedules_tf": cases_schedules_tf,
    "plateau": cases_plateau,
    "accumulator": cases_accumulator,
}


def write_all(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    ids = set()
    total = 0
    for name, fn in KINDS.items():
        cases = fn()
        for c in cases:
            assert c["id"] not in ids, c["id"]
            ids.add(c["id"])
        path = os.path.join(out_dir, f"{name}.json")
        with open(path, "w") as f:
            f.write('{"format": "%s", "cases": [\n' % FORMAT)
            f.write(",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases))
            f.write("\n]}\n")
        total += len(cases)
        print(f"{path}: {len(cases)} cases, {os.path.getsize(path)} bytes")
    print(f"{total} cases")


# --- self-check against the shipped suite --------------------------------------------------------------------------

def _excess(got, want, tol) -> float:
    """Largest |got − want| / (atol + rtol·|want|) over a tensor (≤ 1 passes)."""
    g = np.asarray(got, np.float64).reshape(-1)
    w = np.asarray(want, np.float64).reshape(-1)
    atol = tol.get("atol", 0.0) + tol.get("atol_rel_to_tensor_max", 0.0) * (np.max(np.abs(w)) if w.size else 0.0)
    lim = atol + tol["rtol"] * np.abs(w)
    d = np.abs(g - w)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(d == 0, 0.0, d / lim)
    return float(np.max(r)) if r.size else 0.0


def check_case(c: dict) -> float:
    tol = c["tolerance"]
    kind = c["kind"]
    if kind == "optimizer":
        mine = run_optimizer_case(c)
        worst = 0.0
        for s_m, s_w in zip(mine["steps"], c["steps"]):
            em, ew = s_m["expect"], s_w["expect"]
            for a, b in zip(em["params"], ew["params"]):
                worst = max(worst, _excess(a, b, tol))
            for pn, slots in ew.get("state", {}).items():
                for sn, want in slots.items():
                    worst = max(worst, _excess(em["state"][pn][sn], want, tol))
            for key in ("lr_used", "lr_t"):
                if key in ew:
                    worst = max(worst, _excess(em[key], ew[key], tol))
            if "updated_flag" in ew and em["updated_flag"] != ew["updated_flag"]:
                worst = math.inf
        return worst
    if kind == "schedule":
        sch = c["schedule"]
        if sch["type"] in ("tf_polynomial_decay", "tf_warmup", "create_optimizer"):
            got = [float(tf_schedule(sch, s)) for s in c["steps"]]
        else:
            base = c["base_lr"]
            dl = c.get("default_lr", base)
            if "get_scheduler" in sch:
                gs = sch["get_scheduler"]
                fn = get_scheduler(sch["type"], gs.get("num_warmup_steps"), gs.get("num_training_steps"),
                                   gs.get("scheduler_specific_kwargs"), default_lr=dl)
            else:
                fn = make_schedule(sch["type"], {k: v for k, v in sch.items() if k != "type"}, dl)
            got = [base * fn(s) for s in c["steps"]]
        return _excess(got, c["expect_lr"], tol)
    if kind == "plateau":
        mine = run_plateau(c["kwargs"], c["initial_lrs"], c["metrics"])
        worst = 0.0
        for a, b in zip(mine, c["expect"]):
            if a["num_bad_epochs"] != b["num_bad_epochs"] or a["cooldown_counter"] != b["cooldown_counter"]:
                return math.inf
            worst = max(worst, _excess(a["lrs"], b["lrs"], tol), _excess([a["best"]], [b["best"]], tol))
        return worst
    if kind == "accumulator":
        mine = run_accumulator(c["script"])
        for a, b in zip(mine, c["script"]):
            if a["step"] != b["step"] or (a["error"] is None) != (b["error"] is None):
                return math.inf
            if b["error"] is not None and not a["error"].startswith(b["error"]):
                return math.inf
            if isinstance(b["gradients"], str):
                if not (isinstance(a["gradients"], str) and a["gradients"].startswith(b["gradients"])):
                    return math.inf
                continue
            for x, y in zip(a["gradients"], b["gradients"]):
                if (x is None) != (y is None):
                    return math.inf
                if x is not None:
                    if _excess(x, y, tol) > 1:
                        return math.inf
        return 0.0
    raise ValueError(kind)


def check_shipped(folder: str) -> int:
    bad = 0
    for fn in sorted(os.listdir(folder)):
        if not fn.endswith(".json"):
            continue
        with open(os.path.join(folder, fn)) as f:
            doc = json.load(f)
        for c in doc.get("cases", [doc]):
            e = check_case(c)
            status = "ok " if e <= 1.0 else "BAD"
            bad += e > 1.0
            print(f"{status} {c['id']}: max deviation {e:.3g} x tolerance")
    print(f"{bad} case(s) outside tolerance")
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "..", "test", "conformance",
                                                                   "cases-extra")))
    ap.add_argument("--check-shipped", metavar="DIR", help="recompute the shipped cases in DIR and compare")
    args = ap.parse_args(argv)
    if args.check_shipped:
        return check_shipped(args.check_shipped)
    write_all(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
