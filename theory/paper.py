"""What the paper states: the measure [P], the rate template [P], its reconstruction [R], the regime [P].

Pillutla et al., ICML 2022 (docs/theory.md sections 4-6). Only the *shape* of the paper's bound
is confirmed; its absolute constants and exact sigma combinations are not. So the
template carries named unknown constants C1, C2, C3 and cannot be evaluated until they are
calibrated (`altsim.theory.calibrate`), and the sigma combinations are offered as the two
reconstructed hypotheses H1 and H2, never as the paper's numbers.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable

import numpy as np
import sympy as sp

from .bound import Bound
from .checks import require, require_number_array, shown
from .symbols import Delta_F0, L_u, L_v, T, chi, delta, m, n, sigma_u, sigma_v, w

REFERENCE = "Pillutla et al., Federated Learning with Partial Model Personalization, ICML 2022 (arXiv 2204.03809)"

# --- Section 4: the stationarity measure [P]; the personal weight w is [R] (1 or m/n). ------
grad_u_sq, grad_v_sq_mean = sp.symbols("G_u2 G_v2", nonnegative=True)
STATIONARITY = grad_u_sq / L_u + w * grad_v_sq_mean / L_v
"""Delta = ||grad_u F||^2/L_u + w (1/n) sum_i ||grad_v F_i||^2/L_v. [P] with w = 1; w = m/n is [R]."""


def stationarity(grad_u_sq_norm, grad_v_sq_mean_norm, L_u: float, L_v: float, weight: float = 1.0):
    """Numeric Delta (works on numpy arrays and torch tensors alike).

    Refused before any work: gradient norms that are not numbers, arrays or tensors (TypeError),
    and L_u, L_v not > 0 or a `weight` not >= 0 (ValueError naming it)."""
    for name, x in (
        ("grad_u_sq_norm", grad_u_sq_norm),
        ("grad_v_sq_mean_norm", grad_v_sq_mean_norm),
    ):
        numeric = isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))
        if not numeric and not (hasattr(x, "shape") and hasattr(x, "dtype")):
            raise TypeError(
                f"{name}={shown(x)}: must be a number, an array or a tensor, not {type(x).__name__}"
            )
    require("L_u", L_u, low=0, low_open=True)
    require("L_v", L_v, low=0, low_open=True)
    require("weight", weight, low=0)
    return grad_u_sq_norm / L_u + weight * grad_v_sq_mean_norm / L_v


# --- Section 5: the rate template [P shape] --------------------------------------------------
C1, C2, C3 = sp.symbols("C1 C2 C3", nonnegative=True)
sigma1_sq, sigma2_sq = sp.symbols("sigma1_sq sigma2_sq", nonnegative=True)
TEMPLATE_TERMS = (sp.sqrt(sigma1_sq / T), (sigma2_sq / T) ** sp.Rational(2, 3), 1 / T)
"""The three terms of the paper's rate; the bound is C1*term1 + C2*term2 + C3*term3."""


def template(algorithm: str) -> Bound:
    """[P] avg E Delta_t <= C1 sqrt(sigma_1^2/T) + C2 (sigma~_1^2/T)^(2/3) + C3/T, constants unknown.

    The paper's rate for `algorithm` ('fedalt' or 'fedsim') in shape only, docs/theory.md section 5: the
    slides hide Delta_F0 and every absolute constant, so C1, C2, C3 are named unknowns (`Bound.unknowns`).
    It has no conditions and no free weights, and cannot be held against a run before
    `altsim.theory.calibrate` fits its constants; its expression can be evaluated at given ones.

    Example:
        >>> from altsim.theory import paper
        >>> b = paper.template("fedalt")
        >>> b.unknowns   # a run cannot be compared with it before calibration
        ('C1', 'C2', 'C3')
        >>> v = dict(C1=1.0, C2=1.0, C3=1.0, sigma1_sq=1.0, sigma2_sq=1.0)
        >>> round(float(b.evaluate(v, T=8)), 6)   # sqrt(1/8) + (1/8)^(2/3) + 1/8
        0.728553
    """
    expr = C1 * TEMPLATE_TERMS[0] + C2 * TEMPLATE_TERMS[1] + C3 * TEMPLATE_TERMS[2]
    return Bound(
        name=f"{algorithm}_paper_template",
        algorithm=algorithm,
        expression=expr,
        conditions=(),
        provenance="P",
        reference=REFERENCE
        + ", Theorem (shape only; the slides hide Delta_F0 and all absolute constants)",
        summary=f"{algorithm}: the paper's rate shape, with unknown constants C1, C2, C3",
        rate="T^-1/2",
        unknowns=("C1", "C2", "C3"),
    )


# --- Section 5: the paper-level form and the hypotheses H1, H2 [R] --------------------------
A_term = sigma_u**2 / (m * L_u) + delta**2 * (1 - m / n) / (m * L_u)
B_term = sigma_v**2 / L_v
HYPOTHESES: dict[str, dict[str, sp.Expr]] = {
    "H1": {
        "fedalt": A_term + (m / n) * B_term + chi**2 * (1 - m / n) * B_term,
        "fedsim": (1 + chi**2) * (A_term + (m / n) * B_term),
    },
    "H2": {
        "fedalt": A_term + chi**2 * B_term,
        "fedsim": (1 + chi**2) * A_term + 2 * chi**2 * (m / n) * B_term,
    },
}
"""[R] Two reconstructions of sigma^2_{alg,1} that fit everything confirmed; neither is the paper's."""

sigma_alg2_sq = sp.Symbol("sigma_alg2_sq", nonnegative=True)
eta_max_sym = sp.Symbol("eta_max", positive=True)


def paper_level(algorithm: str, hypothesis: str) -> Bound:
    """[R] sqrt(DF0 s1/T) + (DF0^2 s2/T^2)^(1/3) + DF0/(eta_max T), s1 by hypothesis H1 or H2, constants unknown.

    The paper-level form of docs/theory.md section 5 for `algorithm` ('fedalt' or 'fedsim'), with
    sigma^2_{alg,1} = s1 the reconstruction `hypothesis` ('H1' or 'H2', `HYPOTHESES`) and each term
    weighted by an unknown constant C1, C2, C3; sigma^2_{alg,2} (`sigma_alg2_sq`) is unknown too. It has
    no conditions and no free weights, and cannot be held against a run before calibration; neither
    hypothesis is the paper's. Under both, FedAlt's form is the smaller exactly where the section-6
    condition (`regime_winner`) says FedAlt.

    Example:
        >>> from altsim.theory import paper
        >>> v = dict(C1=1.0, C2=1.0, C3=1.0, sigma_alg2_sq=1.0, eta_max=1.0, Delta_F0=1.0, T=100,
        ...          sigma_u=0.5, sigma_v=0.5, delta=2.0, L_u=1.0, L_v=1.0, chi=0.5, n=10, m=2)
        >>> alt = float(paper.paper_level("fedalt", "H1").evaluate(v))
        >>> sim = float(paper.paper_level("fedsim", "H1").evaluate(v))
        >>> round(alt, 4), round(sim, 4), paper.regime_winner(0.5, 0.5, 2.0, 1.0, 1.0, 10, 2)
        (0.1915, 0.2054, 'fedalt')
    """
    if hypothesis not in HYPOTHESES:
        raise ValueError(f"hypothesis={hypothesis!r}: must be one of {sorted(HYPOTHESES)}")
    s1 = HYPOTHESES[hypothesis][algorithm]
    expr = (
        C1 * sp.sqrt(Delta_F0 * s1 / T)
        + C2 * (Delta_F0**2 * sigma_alg2_sq / T**2) ** sp.Rational(1, 3)
        + C3 * Delta_F0 / (eta_max_sym * T)
    )
    return Bound(
        name=f"{algorithm}_paper_level_{hypothesis}",
        algorithm=algorithm,
        expression=expr,
        conditions=(),
        provenance="R",
        reference=REFERENCE + "; reconstruction of docs/theory.md section 5",
        summary=f"{algorithm}: reconstructed paper-level rate under hypothesis {hypothesis}; constants unknown",
        rate="T^-1/2",
        unknowns=("C1", "C2", "C3", "sigma_alg2_sq"),
    )


# --- Section 6: which algorithm's bound is smaller [P] --------------------------------------
REGIME_LHS = (sigma_v**2 / L_v) * (1 - 2 * m / n)
REGIME_RHS = A_term


def regime_condition() -> sp.Rel:
    """[P] FedAlt's bound is better than FedSim's exactly when this strict inequality holds."""
    return sp.StrictLessThan(REGIME_LHS, REGIME_RHS)


def _regime_sides(sigma_u, sigma_v, delta, L_u, L_v, n, m):
    """The two sides of the section-6 condition lhs < rhs (FedAlt's bound is the smaller).

    Each argument is a number or an array of them: sigma_u, sigma_v, delta >= 0 and L_u, L_v > 0
    (+inf allowed: a constant not certified), n and m integers >= 1; NaN, text and the like are
    refused with the argument's name before any work."""
    sigma_u, sigma_v, delta = (
        require_number_array(k, x, low=0, allow_inf=True)
        for k, x in (("sigma_u", sigma_u), ("sigma_v", sigma_v), ("delta", delta))
    )
    L_u, L_v = (
        require_number_array(k, x, low=0, low_open=True, allow_inf=True)
        for k, x in (("L_u", L_u), ("L_v", L_v))
    )
    n, m = (require_number_array(k, x, low=1, integer=True) for k, x in (("n", n), ("m", m)))
    try:
        np.broadcast_shapes(*(np.shape(x) for x in (sigma_u, sigma_v, delta, L_u, L_v, n, m)))
    except ValueError:
        raise ValueError(
            "sigma_u, sigma_v, delta, L_u, L_v, n, m: arrays of shapes that do not broadcast"
        ) from None
    if np.any(m < 1) or np.any(m > n):
        raise ValueError(
            f"m={shown(m.astype(np.int64).tolist())}: must lie in [1, n] "
            f"(n={shown(n.astype(np.int64).tolist())})"
        )
    lhs = (sigma_v**2 / L_v) * (1 - 2 * m / n)
    rhs = sigma_u**2 / (m * L_u) + delta**2 * (1 - m / n) / (m * L_u)
    return lhs, rhs


def regime_margin(sigma_u, sigma_v, delta, L_u, L_v, n, m):
    """How far a setting lies from the section-6 boundary: (rhs - lhs) / (|lhs| + |rhs|), in [-1, 1].

    Positive: FedAlt predicted, negative: FedSim; 0 on the boundary (nan where both sides are 0 or a
    side is not finite, as with an uncertified constant: no distance to the boundary is defined).
    Scale-free, so one margin band |margin| < b serves every setting (vectorised, broadcast inputs)."""
    lhs, rhs = _regime_sides(sigma_u, sigma_v, delta, L_u, L_v, n, m)
    scale = np.abs(lhs) + np.abs(rhs)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (scale > 0) & np.isfinite(scale)
        out = np.where(ok, (rhs - lhs) / np.where(ok, scale, 1.0), np.nan)
    return out if out.ndim else float(out)


def regime_winner(sigma_u, sigma_v, delta, L_u, L_v, n, m, rtol: float = 1e-12):
    """Vectorised section-6 verdict: an array of 'fedalt', 'fedsim' or 'tie' (broadcast inputs); 'tie' also
    where a side is nan (no verdict). An infinite side compares as such (an uncertified delta: FedAlt).
    Arguments outside their domains are refused with their names before any work (`_regime_sides`)."""
    require("rtol", rtol, low=0)
    lhs, rhs = _regime_sides(sigma_u, sigma_v, delta, L_u, L_v, n, m)
    scale = np.maximum(np.abs(lhs), np.abs(rhs))
    with np.errstate(invalid="ignore"):
        close = np.isfinite(scale) & (np.abs(lhs - rhs) <= rtol * np.where(scale > 0, scale, 1.0))
    tie = close | np.isnan(lhs) | np.isnan(rhs) | (np.isinf(lhs) & np.isinf(rhs) & (lhs == rhs))
    out = np.where(lhs < rhs, "fedalt", "fedsim").astype(object)
    out[tie] = "tie"
    return out if out.ndim else str(out)


BOUNDS: tuple[Callable[[], Bound], ...] = (
    *(functools.partial(template, a) for a in ("fedalt", "fedsim")),
    *(functools.partial(paper_level, a, h) for a in ("fedalt", "fedsim") for h in ("H1", "H2")),
)
