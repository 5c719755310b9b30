import json, sys
from sim import *
z = json.load(open(sys.argv[1]))[int(sys.argv[2])][1]; R = int(sys.argv[3])
Lu, Lv, Luv = z['inst']; n = z['n']
inst = Quad([[Lu]], [[Lv]], [[Luv]], np.array(z['b'])[:, None], np.array(z['e'])[:, None])
for s in range(3):
    r = run(inst, z['m'], z['eta'], z['T'], R, z['u0'], np.array(z['V0'])[:, None], z['su'], z['sv'], seed=100+s)
    print({k: (float(v) if np.ndim(v) == 0 else v) for k, v in r.items()})
