# Step (2) pathwise lemma check + full quadratic-part check with adversarial Hessians
import numpy as np
rng = np.random.default_rng(0)
worst1 = 0; worst2 = 0
for trial in range(20000):
    n = rng.integers(2, 12); m = rng.integers(1, n+1); p = m/n
    du, dv = rng.integers(1, 4), rng.integers(1, 4)
    Lu, Lv, Luv = np.exp(rng.normal(size=3))
    chi = Luv/np.sqrt(Lu*Lv); kap = 1+chi*np.sqrt(p)
    S = rng.choice(n, m, replace=False)
    # correlated a, b_i : b_i = alpha_i * M a + noise (rank-1-ish correlation)
    a = rng.normal(size=du)*np.exp(rng.normal())
    M = rng.normal(size=(dv, du))
    b = np.zeros((n, dv))
    sc = np.exp(rng.normal())
    for i in S:
        b[i] = sc*(M@a*(1+0.1*rng.normal()) + rng.normal(size=dv)*rng.uniform(0, 1))
    B2 = (b**2).sum(1).mean()
    lhs = Luv*np.linalg.norm(a)*np.linalg.norm(b, axis=1).sum()/n
    rhs = chi*np.sqrt(p)/2*(Lu*a@a + Lv*B2)
    worst1 = max(worst1, lhs/rhs)
    # full second-order term with worst-case Hessian blocks per client:
    # a^T Huu a + 2 a^T Huv b + b^T Hvv b <= Lu|a|^2 + 2 Luv|a||b| + Lv|b|^2 (choose aligned blocks)
    q = 0
    for i in range(n):
        nb = np.linalg.norm(b[i])
        q += Lu*a@a + 2*Luv*np.linalg.norm(a)*nb + Lv*nb**2
    q /= n
    worst2 = max(worst2, q/(kap*(Lu*a@a + Lv*B2)))
print("max lhs/rhs cross-term lemma:", worst1)
print("max (avg quad form)/(kappa(Lu|a|^2+Lv B^2)):", worst2)
# equality case: all sampled |b_i| equal and Lu|a|^2 = Lv B^2
n, m = 10, 3; p = m/n; Lu, Lv, Luv = 2., 0.5, 0.9; chi = Luv/np.sqrt(Lu*Lv)
a = np.array([1.]); bb = np.sqrt(Lu/(Lv*p)); B2 = p*bb**2
print("equality case ratio:", Luv*1*m*bb/n/(chi*np.sqrt(p)/2*(Lu+Lv*B2)))
