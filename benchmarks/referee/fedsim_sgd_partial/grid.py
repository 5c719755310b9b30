import sys, time
import tanhfast
from sim import *
kind = sys.argv[1]; R = 4000; n = 10
inst = Quad([[1.]], [[1.]], [[1.]], np.zeros((n, 1)), np.zeros((n, 1))) if kind == 'quad' else Tanh(0.05, 0.05, 1.0, np.zeros(n), np.zeros(n))
key = 'strong_ratio' if kind == 'quad' else 'ratio'; hk = 'strong_hi' if kind == 'quad' else 'ratio_hi'
print(kind, "Lu Lv Luv chi delta2 F*", inst.Lu, inst.Lv, inst.Luv, inst.Luv/np.sqrt(inst.Lu*inst.Lv), inst.delta2, inst.Fstar)
best = (0,)
for m in [1, 2, 5]:
  p = m/n; kap = 1+inst.Luv/np.sqrt(inst.Lu*inst.Lv)*np.sqrt(p)
  for init in ['top', 'balanced', 'spread']:
    if init == 'top': u0 = [1/np.sqrt(inst.Lu)]; V0 = np.full((n, 1), 1/np.sqrt(inst.Lv))
    elif init == 'balanced': u0 = [1/np.sqrt(inst.Lu)]; V0 = np.full((n, 1), np.sqrt(p)/np.sqrt(inst.Lv))
    else: u0 = [0.]; V0 = (np.arange(n)-n/2+.5)[:, None]/np.sqrt(inst.Lv)
    for (su, sv) in [(0, 0), (1, 0), (0, 1), (1, 1)]:
      row = []
      for f in [0.5, 1.0, 1.5, 1.9, 1.99]:
        eta = f/kap
        for T in [1, 10, 100, 1000]:
          r = run(inst, m, eta, T, R if T < 1000 else 1000, u0, V0, su, sv, seed=7)
          row.append(r[key])
          if r[key] > best[0]: best = (r[key], r[hk], m, init, su, sv, f, T)
      print(f"m={m} init={init:8s} su={su} sv={sv}: max ratio {max(row):.4f} (over eta in {{.5,1,1.5,1.9,1.99}}/kap, T in 1..1000)")
print("BEST", best)
