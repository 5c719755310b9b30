from sim import *
# sanity 1: T=1, m=n, deterministic, eigen-aligned quadratic -> ratio should be exactly 1
Lu, Lv, Luv = 2., 0.5, 0.8; n = 4
q = Quad([[Lu]], [[Lv]], [[Luv]], np.zeros((n, 1)), np.zeros((n, 1)))
chi = Luv/np.sqrt(Lu*Lv); kap = 1+chi
# top eigvec of normalized Hessian [[1,chi],[chi,1]] is (1,1)/sqrt2 in w=D^{1/2}z
u0 = [1/np.sqrt(Lu)]; V0 = np.full((n, 1), 1/np.sqrt(Lv))
r = run(q, n, 1/kap, 1, 10, u0, V0)
print("m=n T=1 strong ratio (expect 1):", r['strong_ratio'])
# sanity 2: u-only noise stationary, ratio -> 1 as T large
q2 = Quad([[1.]], [[1.]], [[0.]], np.zeros((n, 1)), np.zeros((n, 1)))
r = run(q2, n, 1.0, 400, 4000, [0.], np.zeros((n, 1)), su=1.0)
print("u-noise stationary:", r['strong_ratio'], r['strong_hi'])
t = Tanh(0.1, 0.1, 1.0, np.zeros(4), np.zeros(4)); print("tanh Lu,Lv,Luv,chi,delta2,F*", t.Lu, t.Lv, t.Luv, t.Luv/np.sqrt(t.Lu*t.Lv), t.delta2, t.Fstar)
