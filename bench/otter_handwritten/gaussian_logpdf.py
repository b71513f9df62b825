import numpy as np
from otter.test_files import test_case

OK_FORMAT = False

name = "gaussian_logpdf"
points = 2

mu = np.array([1.0, -0.5, 0.25])
Sigma = np.array([[2.0, 0.3, -0.4], [0.3, 1.0, 0.2], [-0.4, 0.2, 1.5]])


@test_case(name="gaussian_logpdf: one point and a batch")
def test_one_point_and_batch(gaussian_logpdf):
    assert np.isclose(gaussian_logpdf(np.array([1.5]), np.array([0.5]), np.array([[2.0]])),
                      -1.5155121234846454)
    assert np.isclose(gaussian_logpdf(np.array([0.5, 0.0, 1.0]), mu, Sigma), -3.5559677195042347)
    X = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5], [2.0, 0.5, -1.0], [-1.0, 1.0, 1.0]])
    assert np.allclose(gaussian_logpdf(X, mu, Sigma),
                       [-3.8470038079792057, -3.416270397036249, -4.466910676430894,
                        -5.933732562344747])
