import numpy as np
from otter.test_files import test_case

OK_FORMAT = False

name = "mixture_logpdf"
points = 2


@test_case(name="mixture_logpdf: two components in 2-D")
def test_two_components(mixture_logpdf):
    x = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5], [2.0, -1.0], [0.5, 0.5]])
    weights = np.array([0.8, 0.2])
    means = np.array([[0.0, 0.0], [1.0, -1.0]])
    covs = np.array([[[1.0, 0.2], [0.2, 0.8]], [[0.5, 0.0], [0.0, 2.0]]])
    assert np.allclose(mixture_logpdf(x, weights, means, covs),
                       [-1.8632319059979787, -2.6613669232154806, -2.7410075618559273,
                        -4.065536868190021, -2.0391714913799586])
