import sys, time, json
from sim import *
kind = sys.argv[1]; budget = float(sys.argv[2]); seed = int(sys.argv[3])
rng = np.random.default_rng(seed); best = []; t0 = time.time()
while time.time()-t0 < budget:
    n = int(rng.integers(2, 9)); m = int(rng.integers(1, n))  # partial participation only
    T = int(rng.choice([1, 1, 2, 3, 5, 10, 30, 100]))
    if kind == 'quad':
        Lu, Lv = np.exp(rng.normal(size=2)); chi = rng.uniform(0.3, 1.0)
        Luv = chi*np.sqrt(Lu*Lv)
        het = rng.choice([0, 1])
        b = rng.normal(size=(n, 1))*het*rng.exponential(); e = rng.normal(size=(n, 1))*het*rng.exponential()
        inst = Quad([[Lu]], [[Lv]], [[Luv]], b, e)
    else:
        a, c = np.exp(rng.normal(size=2)-2); k = 1.0
        b = rng.normal(size=n)*rng.choice([0, 0.3]); e = rng.normal(size=n)*rng.choice([0, 0.3])
        inst = Tanh(a, c, k, b, e)
    p = m/n; chi = inst.Luv/np.sqrt(inst.Lu*inst.Lv); kap = 1+chi*np.sqrt(p)
    eta = rng.uniform(0.05, 1.0)*2/kap if rng.random() < .5 else (1-rng.exponential(0.05))*2/kap
    eta = min(max(eta, 1e-3), 2/kap*0.999)
    sc = np.exp(rng.normal()+1)
    u0 = [rng.normal()*sc/np.sqrt(inst.Lu)]
    if rng.random() < .5: V0 = np.full((n, 1), rng.normal()*sc/np.sqrt(inst.Lv))
    else: V0 = rng.normal(size=(n, 1))*sc/np.sqrt(inst.Lv)
    su = rng.choice([0, 0, np.exp(rng.normal())]); sv = rng.choice([0, 0, np.exp(rng.normal())])
    r = run(inst, m, eta, T, 300, u0, V0, su, sv, seed=int(rng.integers(1e9)))
    key = 'strong_ratio' if kind == 'quad' else 'ratio'
    best.append((r[key], dict(n=n, m=m, T=T, eta=eta, kap=kap, chi=chi, su=float(su), sv=float(sv),
                 u0=u0, V0=V0[:, 0].tolist(), b=np.ravel(b).tolist(), e=np.ravel(e).tolist(),
                 inst=(inst.Lu, inst.Lv, inst.Luv) if kind == 'quad' else (a, c, k), strong=r['strong_ratio'])))
best.sort(key=lambda z: -z[0])
print(kind, "evaluated", len(best))
for z in best[:6]: print(round(z[0], 4), z[1])
json.dump(best[:20], open(f"best_{kind}_{seed}.json", "w"))
