import time
import tanhfast
from sim import *
t=time.time(); x = Tanh(0.1, 0.1, 1.0, np.zeros(4), np.zeros(4)); print(x.Fstar, time.time()-t)
# brute-force check of F* by local optimisation from many starts
from scipy.optimize import minimize
