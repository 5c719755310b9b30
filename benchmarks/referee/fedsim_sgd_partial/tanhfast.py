import numpy as np
from sim import Tanh, PHI
def _fstar_fast(s):
    # F(u,V) = a/2 u^2 + bbar u + (1/n) sum_i min_v [c/2 v^2 + k tanh(u) tanh(v) - e_i v]
    Vb = (s.k + np.abs(s.e).max())/s.c + 1.0
    vs = np.linspace(-Vb, Vb, 20001)
    def G(us):
        t = np.tanh(us)[:, None]; tv = np.tanh(vs)[None]
        tot = 0.5*s.a*us**2 + s.b.mean()*us
        for i in range(s.n):
            tot = tot + (0.5*s.c*vs[None]**2 + s.k*t*tv - s.e[i, 0]*vs[None]).min(1)/s.n
        return tot
    Ub = (s.k + abs(s.b.mean()))/s.a + 1.0   # |u*| <= (k+|bbar|)/a
    us = np.linspace(-Ub, Ub, 2001); g = G(us); j = int(g.argmin()); best = g[j]
    lo, hi = us[max(j-1, 0)], us[min(j+1, len(us)-1)]
    for _ in range(4):
        uu = np.linspace(lo, hi, 201); g = G(uu); j = int(g.argmin()); best = min(best, g[j])
        lo, hi = uu[max(j-1, 0)], uu[min(j+1, 200)]
    return best - 1e-6   # safety margin for grid error (makes bound larger by <=1e-6/T/c)
Tanh._fstar = _fstar_fast
