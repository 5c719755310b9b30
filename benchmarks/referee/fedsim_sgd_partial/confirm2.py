from sim import *
Lu, Lv = 0.882, 1.246; inst = Quad([[Lu]], [[Lv]], [[np.sqrt(Lu*Lv)]], np.zeros((2, 1)), np.zeros((2, 1)))
kap = 1+np.sqrt(0.5); eta = 2*0.189/kap
for s in range(3):
    r = run(inst, 1, eta, 300, 30000, [-13.84], np.array([[9.34], [-2.89]]), seed=500+s)
    print("strong ratio %.4f  hi95 %.4f  se-ish %.4f" % (r['strong_ratio'], r['strong_hi'], r['strong_hi']-r['strong_ratio']))
