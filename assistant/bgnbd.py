"""BG/NBD repeat-buying model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Each customer buys at a Poisson rate λ ~ Gamma(r, α) while alive and drops out after any purchase
with probability p ~ Beta(a, b). From a customer's summary — ``x`` repeat purchases, the time of
the last one ``t_x`` and their age ``T`` (all in days since the first purchase) — the model gives
P(alive) and the expected number of purchases in the next ``t`` days. It is both a feature of the
ranker and the baseline it has to beat.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1
from threadpoolctl import threadpool_limits

# Days are rescaled to weeks inside the optimiser: α lives on the same scale as T, and keeping it
# near 1–100 rather than 10–1000 makes L-BFGS converge in far fewer steps.
_SCALE = 7.0


@dataclass
class BGNBD:
    """Fitted parameters; ``fit`` estimates them by maximum likelihood.

    The defaults (a prior used when there are too few customers to fit) are of the order
    published for retail logs: a slow buyer (one purchase every ~4 months) who drops out after
    about one purchase in four.
    """

    r: float = 0.25
    alpha: float = 30.0
    a: float = 0.8
    b: float = 2.5
    max_customers: int = 200_000
    random_state: int = 0

    def fit(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BGNBD:
        """Maximise the BG/NBD log-likelihood over (x, t_x, T) in days."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        if len(x) > self.max_customers:
            # The likelihood of a random subsample estimates the same four parameters; this keeps
            # a fit over millions of customers to seconds.
            idx = np.random.default_rng(self.random_state).choice(len(x), self.max_customers, replace=False)
            x, t_x, T = x[idx], t_x[idx], T[idx]
        # Customers with the same summary contribute the same term: fit over the distinct rows.
        summary = pd.DataFrame({"x": x, "t_x": np.round(t_x), "T": np.round(T)})
        grouped = summary.value_counts().reset_index(name="n")
        gx, gtx, gT, w = (grouped[c].to_numpy(float) for c in ("x", "t_x", "T", "n"))
        gtx, gT = gtx / _SCALE, gT / _SCALE

        def nll(log_params: np.ndarray) -> float:
            r, alpha, a, b = np.exp(log_params)
            return -float(np.sum(w * _log_likelihood(r, alpha, a, b, gx, gtx, gT))) / w.sum()

        best = None
        # A tiny 4-parameter problem: BLAS threads only contend with each other (20x slower on a
        # busy 2-core machine), so the optimiser runs single-threaded.
        with threadpool_limits(limits=1, user_api="blas"):
            for start in (np.log([0.5, 5.0, 0.8, 2.5]), np.log([1.0, 1.0, 1.0, 1.0])):
                res = minimize(nll, start, method="L-BFGS-B", bounds=[(-8, 8)] * 4)
                if best is None or res.fun < best.fun:
                    best = res
                if res.success:
                    break
        self.r, alpha, self.a, self.b = (float(v) for v in np.exp(best.x))
        self.alpha = alpha * _SCALE
        return self

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(the customer has not dropped out) at age ``T``."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        log_ratio = (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
        with np.errstate(over="ignore"):
            odds = np.where(x > 0, np.exp(np.log(self.a) - np.log(np.maximum(self.b + x - 1, 1e-12)) + log_ratio), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Expected number of purchases in the next ``t`` days, given the history."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        # a = 1 is a removable singularity of the closed form; step off it rather than divide by 0.
        a = a if abs(a - 1.0) > 1e-6 else 1.0 + 1e-6
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        with np.errstate(over="ignore", invalid="ignore"):
            hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
            body = 1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
            log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            odds = np.where(x > 0, np.exp(np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) + log_ratio), 0.0)
            expected = head * body / (1.0 + odds)
        return np.clip(np.nan_to_num(expected, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)

    def p_purchase(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(at least one purchase in the next ``t`` days) ≈ P(alive)·(1 − e^(−E/P(alive)))."""
        alive = self.p_alive(x, t_x, T)
        expected = self.expected_purchases(t, x, t_x, T)
        rate_if_alive = np.divide(expected, alive, out=np.zeros_like(expected), where=alive > 1e-12)
        return alive * (1.0 - np.exp(-rate_if_alive))


def _log_likelihood(r, alpha, a, b, x, t_x, T):
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)
