# Independent FedSim (1 local step, partial participation w/o replacement) simulator.
import numpy as np
PHI = 4/(3*np.sqrt(3))  # max |tanh''|

class Quad:
    """F_i = 1/2 u'Au + b_i'u + 1/2 v'Cv + u'Kv - e_i'v  (common A,C,K)."""
    def __init__(s, A, C, K, b, e):
        s.A, s.C, s.K, s.b, s.e = map(np.atleast_2d, (A, C, K, b, e))
        s.n = s.b.shape[0]; s.du = s.A.shape[0]; s.dv = s.C.shape[0]
        s.Lu = np.linalg.norm(s.A, 2); s.Lv = np.linalg.norm(s.C, 2); s.Luv = np.linalg.norm(s.K, 2)
        H = np.block([[s.A, s.K], [s.K.T, s.C]])
        assert np.linalg.eigvalsh(H).min() > -1e-12
        # F* : stationary point of convex F (solve KKT in (u, v_1..v_n))
        n, du, dv = s.n, s.du, s.dv
        N = du + n*dv; M = np.zeros((N, N)); r = np.zeros(N)
        M[:du, :du] = s.A; r[:du] = -s.b.mean(0)
        for i in range(n):
            sl = slice(du+i*dv, du+(i+1)*dv)
            M[:du, sl] = s.K/n; M[sl, :du] = s.K.T; M[sl, sl] = s.C; r[sl] = s.e[i]
        z = np.linalg.lstsq(M, r, rcond=None)[0]
        assert np.allclose(M@z, r, atol=1e-9), "F unbounded below"
        s.Fstar = s.F(z[None, :du], z[du:].reshape(1, n, dv))[0]
        s.delta2 = None  # not certifiable (depends on spread of v)
    def gu_i(s, u, V):  # (R,n,du)
        return (u@s.A.T)[:, None, :] + s.b[None] + V@s.K.T
    def gv_i(s, u, V):  # (R,n,dv)
        return V@s.C.T + (u@s.K)[:, None, :] - s.e[None]
    def F(s, u, V):
        fu = 0.5*np.einsum('ri,ij,rj->r', u, s.A, u) + u@s.b.mean(0)
        fv = 0.5*np.einsum('rni,ij,rnj->rn', V, s.C, V) + np.einsum('ri,ij,rnj->rn', u, s.K, V) - np.einsum('rni,ni->rn', V, s.e)
        return fu + fv.mean(1)

class Tanh:
    """scalar: F_i = a/2 u^2 + c/2 v^2 + k tanh(u)tanh(v) + b_i u - e_i v."""
    def __init__(s, a, c, k, b, e):
        s.a, s.c, s.k = a, c, k; s.b = np.asarray(b, float)[:, None]; s.e = np.asarray(e, float)[:, None]
        s.n = len(b); s.du = s.dv = 1
        s.Lu = a + PHI*k; s.Lv = c + PHI*k; s.Luv = k
        # exact sup of diversity: convex in x in [-1,1]^n -> vertices
        n = s.n; best = 0
        for mask in range(2**n):
            x = np.array([1. if (mask >> i) & 1 else -1. for i in range(n)])
            g = (s.b[:, 0]-s.b.mean()) + k*(x-x.mean()); best = max(best, (g**2).mean())
        s.delta2 = best
        # F*: nested grid + refinement (nonconvex, 1-D problems)
        s.Fstar = s._fstar()
    def _vmin(s, u):
        vs = np.linspace(-60, 60, 240001)
        out = 0
        for i in range(s.n):
            f = 0.5*s.c*vs**2 + s.k*np.tanh(u)*np.tanh(vs) - s.e[i, 0]*vs
            out += f.min()
        return out/s.n
    def _fstar(s):
        us = np.linspace(-40, 40, 801)
        vals = [0.5*s.a*u**2 + s.b.mean()*u + s._vmin(u) for u in us]
        j = int(np.argmin(vals)); lo, hi = us[max(j-1, 0)], us[min(j+1, len(us)-1)]
        for _ in range(3):
            uu = np.linspace(lo, hi, 201)
            vals = [0.5*s.a*u**2 + s.b.mean()*u + s._vmin(u) for u in uu]
            j = int(np.argmin(vals)); lo, hi = uu[max(j-1, 0)], uu[min(j+1, 200)]
        return min(vals)
    def gu_i(s, u, V):
        return s.a*u[:, None, :] + s.k*(1/np.cosh(u[:, None, :])**2)*np.tanh(V) + s.b[None]
    def gv_i(s, u, V):
        return s.c*V + s.k*np.tanh(u[:, None, :])/np.cosh(V)**2 - s.e[None]
    def F(s, u, V):
        f = 0.5*s.a*u**2 + u*s.b.mean()
        g = 0.5*s.c*V**2 + s.k*np.tanh(u[:, None, :])*np.tanh(V) - s.e[None]*V
        return f[:, 0] + g[:, :, 0].mean(1)

def run(inst, m, eta, T, R, u0, V0, su=0., sv=0., seed=0, strong=False):
    """returns dict with per-seed average of x^2+pY^2, bound, etc."""
    rng = np.random.default_rng(seed)
    n = inst.n; p = m/n; Lu, Lv = inst.Lu, inst.Lv
    chi = inst.Luv/np.sqrt(Lu*Lv); kap = 1+chi*np.sqrt(p); c = eta*(1-eta*kap/2)
    num = (n-m)/(m*(n-1)); gu, gv = eta/Lu, eta/Lv
    u = np.tile(np.asarray(u0, float).reshape(1, -1), (R, 1))
    V = np.tile(np.asarray(V0, float).reshape(1, n, -1), (R, 1, 1))
    F0 = inst.F(u[:1], V[:1])[0]
    acc = np.zeros(R); Dacc = np.zeros(R)
    for t in range(T):
        Gu = inst.gu_i(u, V); Gv = inst.gv_i(u, V)
        gbar = Gu.mean(1)
        x2 = (gbar**2).sum(1)/Lu; Y2 = (Gv**2).sum(2).mean(1)/Lv
        acc += x2 + p*Y2
        Dacc += ((Gu-gbar[:, None])**2).sum(2).mean(1)
        sel = np.argsort(rng.random((R, n)), axis=1)[:, :m]
        mask = np.zeros((R, n), bool); np.put_along_axis(mask, sel, True, axis=1)
        # noise with exact total variance su^2 / sv^2 (isotropic Gaussian)
        g = Gu + rng.normal(size=Gu.shape)*su/np.sqrt(inst.du)
        h = Gv + rng.normal(size=Gv.shape)*sv/np.sqrt(inst.dv)
        unew = ((u[:, None, :]-gu*g)*mask[:, :, None]).sum(1)/m
        V = np.where(mask[:, :, None], V-gv*h, V)
        u = unew
    acc /= T; Dacc /= T
    dF0 = F0-inst.Fstar
    # official bound (needs certified delta^2) and strong form (uses measured E[D_t])
    Snoise = su**2/(m*Lu) + p*sv**2/Lv
    res = dict(p=p, chi=chi, kap=kap, c=c, dF0=dF0, mean=acc.mean(), se=acc.std(ddof=1)/np.sqrt(R))
    if inst.delta2 is not None:
        S = Snoise + num*inst.delta2/Lu
        res['bound'] = (dF0/T + eta**2*kap*S/2)/c
        res['ratio'] = res['mean']/res['bound']; res['ratio_hi'] = (res['mean']+1.96*res['se'])/res['bound']
    # strong form per-seed slack: c*avg - eta^2 kap/2 * num*D/Lu  <=  dF0/T + eta^2 kap Snoise/2
    lhs = c*acc - eta**2*kap/2*num*Dacc/Lu; rhs = dF0/T + eta**2*kap*Snoise/2
    res['strong_ratio'] = lhs.mean()/rhs; res['strong_hi'] = (lhs.mean()+1.96*lhs.std(ddof=1)/np.sqrt(R))/rhs
    res['ED'] = Dacc.mean()
    return res
