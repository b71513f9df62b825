import numpy as np
from otter.test_files import test_case

OK_FORMAT = False

name = "gaussian_conditional"
points = 2

mu = np.array([1.0, -0.5, 0.25])
Sigma = np.array([[2.0, 0.3, -0.4], [0.3, 1.0, 0.2], [-0.4, 0.2, 1.5]])


@test_case(name="gaussian_conditional: conditions on a subset")
def test_conditions_on_a_subset(gaussian_conditional):
    m, S = gaussian_conditional(mu, Sigma, [0], [2], np.array([0.7]))
    assert np.allclose(m, [0.88]) and np.allclose(S, [[1.8933333333333333]])
    m, S = gaussian_conditional(mu, Sigma, [2, 0], [1], np.array([-1.0]))
    assert np.allclose(m, [0.15, 0.85]) and np.allclose(S, [[1.46, -0.46], [-0.46, 1.91]])
    m, S = gaussian_conditional(mu, Sigma, [1], [], np.array([]))
    assert np.allclose(m, [-0.5]) and np.allclose(S, [[1.0]])
