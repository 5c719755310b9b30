"""Shorthands the [D] derivations share (docs/theory.md section 7), defined once.

- p = m/n, the sampled fraction;
- nu_m = (n - m)/(m (n - 1)), the finite-population factor: the variance of a mean of m draws without
  replacement over the population variance;
- d2, s_u2, s_v2: delta^2, sigma_u^2, sigma_v^2 in the scaled coordinates u' = sqrt(L_u) u, v' = sqrt(L_v) v,
  where every block has curvature at most 1.
"""

from __future__ import annotations

from .symbols import L_u, L_v, delta, m, n, sigma_u, sigma_v

p = m / n
nu_m = (n - m) / (m * (n - 1))
d2, s_u2, s_v2 = delta**2 / L_u, sigma_u**2 / L_u, sigma_v**2 / L_v
