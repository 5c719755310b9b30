import sys, time
import tanhfast
from sim import *
kind = sys.argv[1]; budget = float(sys.argv[2]); seed = int(sys.argv[3]); focus = sys.argv[4] if len(sys.argv) > 4 else ''
rng = np.random.default_rng(seed); t0 = time.time()
pool = []
def make():
    n = int(rng.integers(2, 11))
    if kind == 'quad':
        Lu, Lv = np.exp(rng.normal(size=2)); chi = rng.choice([1.0, 0.99, rng.uniform(0.3, 1.0)])
        het = rng.choice([0, 1]) if chi < 1 else 0
        b = rng.normal(size=(n, 1))*het*rng.exponential(); e = rng.normal(size=(n, 1))*het*rng.exponential()
        return Quad([[Lu]], [[Lv]], [[chi*np.sqrt(Lu*Lv)]], b, e), (Lu, Lv, chi)
    a, c = np.exp(rng.normal(size=2)-1.5)
    b = rng.normal(size=n)*rng.choice([0, 0.2, 1.0]); e = rng.normal(size=n)*rng.choice([0, 0.3])
    return Tanh(a, c, 1.0, b, e), (a, c)
while len(pool) < (40 if kind == 'quad' else 12): pool.append(make())
res = []
def cfg(inst):
    n = inst.n; m = int(rng.integers(1, n)) if focus != 'full' else n
    if focus == 'm1': m = 1
    p = m/n; chi = inst.Luv/np.sqrt(inst.Lu*inst.Lv); kap = 1+chi*np.sqrt(p)
    T = int(rng.choice([1, 2, 3, 5, 10, 30, 100, 300]))
    eta = rng.uniform(0.05, 1.0)*2/kap if rng.random() < .5 else (1-rng.exponential(0.05))*2/kap
    eta = float(min(max(eta, 1e-3), 2/kap*0.999))
    sc = np.exp(rng.normal()+1)
    u0 = [rng.normal()*sc/np.sqrt(inst.Lu)]
    V0 = (np.full((n, 1), rng.normal()*sc/np.sqrt(inst.Lv)) if rng.random() < .5 else rng.normal(size=(n, 1))*sc/np.sqrt(inst.Lv))
    su = float(rng.choice([0, 0, np.exp(rng.normal())])); sv = float(rng.choice([0, 0, np.exp(rng.normal())]))
    return dict(m=m, T=T, eta=eta, u0=u0, V0=V0, su=su, sv=sv)
key = 'ratio' if kind == 'tanh' else 'strong_ratio'
while time.time()-t0 < budget:
    j = int(rng.integers(len(pool))); inst = pool[j][0]; c = cfg(inst)
    r = run(inst, c['m'], c['eta'], c['T'], 300, c['u0'], c['V0'], c['su'], c['sv'], seed=int(rng.integers(1e9)))
    res.append((r[key], j, c))
res.sort(key=lambda z: -z[0])
print(kind, focus, "evaluated", len(res), "; top stage-1:", [round(z[0], 3) for z in res[:10]])
out = []
for val, j, c in res[:10]:
    inst = pool[j][0]
    r = run(inst, c['m'], c['eta'], c['T'], 20000, c['u0'], c['V0'], c['su'], c['sv'], seed=12345)
    out.append((r, j, c))
out.sort(key=lambda z: -z[0][key])
for r, j, c in out[:4]:
    print(f"stage2 {key}={r[key]:.4f} hi95={r[key.replace('ratio','hi') if kind=='quad' else 'ratio_hi']:.4f} strong={r['strong_ratio']:.4f}",
          "inst", np.round(pool[j][1], 3), "n", pool[j][0].n, "m", c['m'], "T", c['T'], "eta*kap/2=%.3f" % (c['eta']*r['kap']/2),
          "chi=%.3f p=%.3f su=%.2f sv=%.2f" % (r['chi'], r['p'], c['su'], c['sv']),
          "hetb", np.round(np.ptp(pool[j][0].b), 2), "u0", np.round(c['u0'], 2), "V0", np.round(c['V0'][:, 0], 2))
