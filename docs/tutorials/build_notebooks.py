"""Write the tutorial notebooks (``python docs/tutorials/build_notebooks.py``).

The notebooks are generated from the cell lists below so they stay reviewable as code; the
docs build (``mkdocs build``) executes them, so the site shows their outputs and figures, and
CI runs them end to end at the small sizes written here.
"""

from __future__ import annotations

import pathlib

import nbformat

HERE = pathlib.Path(__file__).parent
# The project's repository, for the Colab badge and the install cell (one place).
REPO = "mlmath-jax/mlmath_jax"

INSTALL = f"""# On Colab: install the package (with JAX's CUDA wheels when a GPU runtime is attached).
import sys

if "google.colab" in sys.modules:
    import subprocess

    extra = "[cuda12]" if subprocess.run(["nvidia-smi"], capture_output=True).returncode == 0 else ""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"mlmath_jax{{extra}} @ git+https://github.com/{REPO}"], check=True)"""


def badge(name: str) -> str:
    url = f"https://colab.research.google.com/github/{REPO}/blob/main/docs/tutorials/{name}"
    return f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


NOTEBOOKS = {
    "pca_spectral_digits.ipynb": [
        (
            "md",
            "# PCA and spectral clustering on digits\n\n{badge}\n\n"
            "scikit-learn's 8x8 handwritten digits (1797 images, 64 pixels): project them on "
            "their leading principal components with `ml.PCA`, compare with scikit-learn, and "
            "cluster two digit classes with `ml.spectral_clustering`.",
        ),
        ("code", INSTALL),
        (
            "code",
            "import jax\nimport jax.numpy as jnp\nimport matplotlib.pyplot as plt\n"
            "import numpy as np\nfrom sklearn.datasets import load_digits\n"
            "from sklearn.decomposition import PCA as SkPCA\n\nfrom mlmath_jax import ml\n\n"
            "X, y = load_digits(return_X_y=True)\nXj = jnp.asarray(X, jnp.float32)\n"
            "pca = ml.PCA.fit(Xj, 10)\nprint(pca.explained_variance_ratio)",
        ),
        (
            "md",
            "The same fit in scikit-learn, for comparison (components agree up to float32 "
            "rounding; both use the same sign convention):",
        ),
        (
            "code",
            "sk = SkPCA(10, svd_solver='covariance_eigh').fit(X)\n"
            "print(np.max(np.abs(np.asarray(pca.explained_variance_ratio) - "
            "sk.explained_variance_ratio_)))\n"
            "print(np.max(np.abs(np.asarray(pca.components_ if hasattr(pca, 'components_') "
            "else pca.components) - sk.components_)))",
        ),
        (
            "code",
            "Z = pca.transform(Xj)\nfig, ax = plt.subplots(figsize=(5, 4))\n"
            "points = ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap='tab10', s=6)\n"
            "fig.colorbar(points, label='digit')\nax.set_xlabel('PC 1')\nax.set_ylabel('PC 2')\n"
            "ax.set_title('digits on their first two principal components')\nplt.show()",
        ),
        (
            "md",
            "Spectral clustering of the digits 0 and 1 in the 10-dimensional PCA space "
            "(the Gaussian affinity's `gamma` is the inverse squared length scale):",
        ),
        (
            "code",
            "mask = (y == 0) | (y == 1)\nZ01 = Z[mask]\n"
            "labels = ml.spectral_clustering(Z01 / jnp.std(Z01), 2, key=jax.random.key(0), "
            "gamma=0.5)\ntruth = y[mask]\n"
            "agreement = max(np.mean(np.asarray(labels) == truth), "
            "np.mean(np.asarray(labels) != truth))\n"
            "print(f'cluster/label agreement: {agreement:.3f}')",
        ),
    ],
    "regularisation_paths.ipynb": [
        (
            "md",
            "# Ridge and lasso paths on diabetes\n\n{badge}\n\n"
            "A whole regularisation path is one `jax.vmap` over `alpha`: 50 ridge fits and 50 "
            "lasso fits of scikit-learn's diabetes data (442 patients, 10 features) in one "
            "compiled call each. Then `alpha` is chosen on a validation split, by a grid and "
            "by gradient descent through the ridge solution.",
        ),
        ("code", INSTALL),
        (
            "code",
            "import jax\nimport jax.numpy as jnp\nimport matplotlib.pyplot as plt\n"
            "import numpy as np\nimport optax\nfrom sklearn.datasets import load_diabetes\n"
            "from sklearn.linear_model import Lasso\n\nfrom mlmath_jax import ml\n\n"
            "X, y = load_diabetes(return_X_y=True)\n"
            "X, y = jnp.asarray(X, jnp.float32), jnp.asarray(y, jnp.float32)\n"
            "alphas = jnp.logspace(-4, 1, 50)\n"
            "ridge_path = jax.vmap(lambda a: ml.ridge(X, y, a).coef)(alphas)\n"
            "lasso_path = jax.vmap(lambda a: ml.lasso(X, y, a).coef)(alphas)\n"
            "print(ridge_path.shape, lasso_path.shape)",
        ),
        ("md", "One point of the lasso path against scikit-learn's `Lasso` (the same objective):"),
        (
            "code",
            "i = 30\nsk = Lasso(alpha=float(alphas[i])).fit(np.asarray(X), np.asarray(y))\n"
            "print(np.max(np.abs(np.asarray(lasso_path[i]) - sk.coef_)) / "
            "np.max(np.abs(sk.coef_)))",
        ),
        (
            "code",
            "fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)\n"
            "for ax, path, name in ((axes[0], ridge_path, 'ridge'), (axes[1], lasso_path, "
            "'lasso')):\n    ax.semilogx(alphas, path)\n    ax.set_xlabel('alpha')\n"
            "    ax.set_title(f'{name} coefficients')\naxes[0].set_ylabel('coefficient')\n"
            "plt.show()",
        ),
        (
            "md",
            "## Choosing `alpha` on a validation split\n\nA grid search fits every alpha; "
            "gradient descent on the validation loss differentiates through the fit "
            "(`ml.ridge` is a closed form, so `jax.grad` passes through it) and needs a few "
            "dozen fits. Both land on the same alpha.",
        ),
        (
            "code",
            "train, val = slice(0, 300), slice(300, None)\n\n"
            "def val_loss(log_alpha):\n"
            "    model = ml.ridge(X[train], y[train], jnp.exp(log_alpha))\n"
            "    return jnp.mean((model.predict(X[val]) - y[val]) ** 2)\n\n"
            "grid = jnp.linspace(-10, 2, 400)\ngrid_losses = jax.vmap(val_loss)(grid)\n"
            "best_grid = grid[jnp.argmin(grid_losses)]\n\n"
            "opt = optax.adam(0.1)\nlog_alpha = jnp.asarray(0.0)\nstate = opt.init(log_alpha)\n"
            "step = jax.jit(jax.value_and_grad(val_loss))\nfor _ in range(150):\n"
            "    loss, g = step(log_alpha)\n    updates, state = opt.update(g, state)\n"
            "    log_alpha = optax.apply_updates(log_alpha, updates)\n"
            "print(f'grid: alpha={float(jnp.exp(best_grid)):.4g} (400 fits); gradient: '\n"
            "      f'alpha={float(jnp.exp(log_alpha)):.4g} (150 fits and gradients)')",
        ),
        (
            "md",
            "The lasso is not a closed form (coordinate descent), yet `jax.grad` passes "
            "through it too: the gradient comes from implicit differentiation of its "
            "optimality conditions on the active set, one small linear solve, not from "
            "replaying the iterations. Its validation loss is piecewise smooth in alpha and "
            "flat near its best, with several local minima, so gradient descent reaches a "
            "local minimum whose loss is close to the grid's best, not always the grid's "
            "alpha: the printout shows both.",
        ),
        (
            "code",
            "def lasso_val_loss(log_alpha):\n"
            "    model = ml.lasso(X[train], y[train], jnp.exp(log_alpha), tol=1e-6)\n"
            "    return jnp.mean((model.predict(X[val]) - y[val]) ** 2)\n\n"
            "grid = jnp.linspace(-6, 1, 200)\nlosses = jax.vmap(lasso_val_loss)(grid)\n"
            "best_grid = grid[jnp.argmin(losses)]\n\n"
            "opt = optax.adam(0.05)\nlog_alpha = jnp.asarray(-1.0)\nstate = opt.init(log_alpha)\n"
            "step = jax.jit(jax.value_and_grad(lasso_val_loss))\nfor _ in range(150):\n"
            "    loss, g = step(log_alpha)\n    updates, state = opt.update(g, state)\n"
            "    log_alpha = optax.apply_updates(log_alpha, updates)\n"
            "print(f'lasso grid: alpha={float(jnp.exp(best_grid)):.4g}, val loss '\n"
            "      f'{float(losses.min()):.1f} (200 fits); gradient: '\n"
            "      f'alpha={float(jnp.exp(log_alpha)):.4g}, val loss {float(loss):.1f} '\n"
            "      '(150 fits and gradients)')",
        ),
        (
            "md",
            "## How much does one training point move a prediction?\n\n"
            "The derivative of a logistic model's predicted probability with respect to one "
            "training point's `sample_weight` (an influence function) costs one gradient; "
            "check it against refitting with that point's weight nudged.",
        ),
        (
            "code",
            "from sklearn.datasets import load_breast_cancer\n\n"
            "Xb, yb = load_breast_cancer(return_X_y=True)\nXb = (Xb - Xb.mean(0)) / Xb.std(0)\n"
            "Xb, yb = jnp.asarray(Xb, jnp.float32), jnp.asarray(yb, jnp.float32)\n"
            "base = ml.logistic_regression(Xb, yb).predict_proba(Xb)[:, 1]\n"
            "x_test = Xb[int(jnp.argmin(jnp.abs(base - 0.5)))][None]  # an uncertain point\n\n"
            "def p_test(weights):\n"
            "    model = ml.logistic_regression(Xb, yb, sample_weight=weights)\n"
            "    return model.predict_proba(x_test)[0, 1]\n\n"
            "w = jnp.ones(Xb.shape[0])\ninfluence = jax.grad(p_test)(w)\n"
            "i = int(jnp.argmax(jnp.abs(influence)))\n"
            "h = 0.05\nrefit = (p_test(w.at[i].add(h)) - p_test(w.at[i].add(-h))) / (2 * h)\n"
            "print(f'most influential training point: {i}; d p / d weight = '\n"
            "      f'{float(influence[i]):.3e} (implicit), {float(refit):.3e} (two refits)')",
        ),
    ],
    "hessian_spectrum_mlp.ipynb": [
        (
            "md",
            "# The Hessian spectrum of a small MLP\n\n{badge}\n\n"
            "Train a one-hidden-layer network on breast_cancer with optax through "
            "`optim.minimize`, then look at the Hessian of the training loss without forming "
            "it: its extreme eigenvalues (`calculus.hessian_eigsh`, Lanczos on "
            "Hessian-vector products), its trace (Hutchinson) and its spectral density "
            "(stochastic Lanczos quadrature). The data travel as `args`.",
        ),
        ("code", INSTALL),
        (
            "code",
            "import jax\nimport jax.numpy as jnp\nimport matplotlib.pyplot as plt\n"
            "import optax\nfrom sklearn.datasets import load_breast_cancer\n\n"
            "from mlmath_jax import calculus, optim\n\n"
            "X, y = load_breast_cancer(return_X_y=True)\nX = (X - X.mean(0)) / X.std(0)\n"
            "X, y = jnp.asarray(X, jnp.float32), jnp.asarray(y, jnp.float32)\n\n"
            "def init(key, d=30, h=16):\n    k1, k2 = jax.random.split(key)\n"
            "    return {'w1': jax.random.normal(k1, (d, h)) / jnp.sqrt(d), 'b1': jnp.zeros(h),\n"
            "            'w2': jax.random.normal(k2, (h,)) / jnp.sqrt(h), 'b2': jnp.zeros(())}\n\n"
            "def loss(params, X, y):\n    hidden = jnp.tanh(X @ params['w1'] + params['b1'])\n"
            "    logits = hidden @ params['w2'] + params['b2']\n"
            "    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, y))\n\n"
            "params0 = init(jax.random.key(0))\n"
            "n_params = sum(p.size for p in jax.tree.leaves(params0))\nprint(n_params, 'parameters')",
        ),
        (
            "code",
            "def spectrum(params):\n"
            "    top = calculus.hessian_eigsh(loss, params, 3, args=(X, y))\n"
            "    trace = calculus.hessian_trace(loss, params, jax.random.key(1), 64, args=(X, y))\n"
            "    return top, trace\n\n"
            "before = spectrum(params0)\n"
            "res = optim.minimize(loss, params0, args=(X, y), optimizer=optax.adam(1e-2),\n"
            "                     max_steps=500, tol=1e-4)\n"
            "after = spectrum(res.x)\n"
            "print('loss', float(loss(params0, X, y)), '->', float(res.value), 'in', "
            "int(res.num_steps), 'steps')\n"
            "for name, (top, trace) in (('before', before), ('after', after)):\n"
            "    print(name, 'top eigenvalues', top.eigenvalues, 'trace', trace.estimate, "
            "'+-', trace.standard_error)",
        ),
        (
            "code",
            "grid = jnp.linspace(-0.5, 3.0, 300)\nfig, ax = plt.subplots(figsize=(6, 4))\n"
            "for name, params in (('initial', params0), ('trained', res.x)):\n"
            "    density = calculus.hessian_spectral_density(loss, params, jax.random.key(2), "
            "args=(X, y),\n"
            "                                               num_probes=8, num_iters=40, grid=grid)\n"
            "    ax.semilogy(grid, density + 1e-6, label=name)\n"
            "ax.set_xlabel('Hessian eigenvalue')\nax.set_ylabel('density')\nax.legend()\n"
            "ax.set_title('Hessian spectral density (SLQ)')\nplt.show()",
        ),
    ],
    "distributions_tables.ipynb": [
        (
            "md",
            "# Distributions, joint tables and independence tests\n\n{badge}\n\n"
            "On scikit-learn's wine data (178 wines, 3 cultivars): fit distributions by "
            "maximum likelihood, compare densities with SciPy, build a joint table of the "
            "cultivar and a binned feature from the label columns, and test independence.",
        ),
        ("code", INSTALL),
        (
            "code",
            "import jax\nimport jax.numpy as jnp\nimport numpy as np\n"
            "from scipy import stats\nfrom sklearn.datasets import load_wine\n\n"
            "from mlmath_jax import ml, prob\n\nX, cultivar = load_wine(return_X_y=True)\n"
            "alcohol = jnp.asarray(X[:, 0], jnp.float32)\n"
            "normal = ml.fit_mle(prob.Normal, alcohol)\n"
            "gamma = ml.fit_mle(prob.Gamma, alcohol)\n"
            "print(normal)\nprint(gamma)\n"
            "print('mean log-likelihood: normal', float(jnp.mean(normal.log_prob(alcohol))), "
            "'gamma', float(jnp.mean(gamma.log_prob(alcohol))))",
        ),
        (
            "code",
            "x = jnp.linspace(11.0, 15.0, 5)\n"
            "print(normal.log_prob(x))\n"
            "print(stats.norm(float(normal.loc), float(normal.scale)).logpdf(np.asarray(x)))",
        ),
        (
            "md",
            "The joint table of cultivar (3 values) and alcohol binned at its quartiles "
            "(4 values), from the label columns:",
        ),
        (
            "code",
            "edges = prob.quantile(alcohol, jnp.array([0.25, 0.5, 0.75]))\n"
            "binned = jnp.searchsorted(edges, alcohol)\n"
            "counts = prob.joint_table(jnp.asarray(cultivar), binned, num_categories=(3, 4), "
            "normalize=False)\nprint(counts)\njoint = counts / counts.sum()\n"
            "print('P(cultivar):', prob.marginal(joint, axes=(0,)))\n"
            "print('mutual information (nats):', prob.mutual_information(joint))\n"
            "print('independent?', prob.are_independent(joint, atol=1e-3))",
        ),
        (
            "code",
            "stat, p_value, dof = prob.chi2_independence(counts)\n"
            "ref = stats.chi2_contingency(np.asarray(counts))\n"
            "print(stat, p_value, dof)\nprint(ref.statistic, ref.pvalue, ref.dof)",
        ),
        ("md", "Monte Carlo expectations take the function's data as `args`:"),
        (
            "code",
            "def excess(v, threshold):\n    return jnp.maximum(v - threshold, 0.0)\n\n"
            "est = prob.expectation(excess, normal, jax.random.key(0), 100_000, args=(14.0,))\n"
            "print(est.estimate, '+-', est.standard_error)",
        ),
    ],
    "cpu_vs_gpu.ipynb": [
        (
            "md",
            "# CPU against GPU on Colab\n\n{badge}\n\n"
            "Run the benchmark suite on the devices this runtime has. On a Colab GPU runtime "
            "the `--gpu` list runs under a time budget (most informative cases first); on a "
            "CPU-only runtime (and in CI) a small subset runs. The report is a Markdown table "
            "with times, ratios to the peers and the fraction of the device's peak.",
        ),
        ("code", INSTALL),
        (
            "code",
            "import pathlib\nimport subprocess\nimport sys\n\nimport jax\n\n"
            "print(jax.devices())\nhas_gpu = any(d.platform == 'gpu' for d in jax.devices())\n"
            "root = pathlib.Path.cwd()\nwhile not (root / 'benchmarks').exists() and "
            "root != root.parent:\n    root = root.parent\n"
            "if not (root / 'benchmarks').exists():  # on Colab: the suite lives in the repository\n"
            f"    subprocess.run(['git', 'clone', '-q', 'https://github.com/{REPO}', 'mlmath_jax'], "
            "check=True)\n    root = pathlib.Path('mlmath_jax')\nprint(root)",
        ),
        (
            "code",
            "out = pathlib.Path('bench_out')\n"
            "if has_gpu:\n    cmd = ['--gpu', '--budget', '600']\nelse:\n"
            "    cmd = ['--quick', '--case', 'linalg.matmul', '--repeat', '3']\n"
            "run = subprocess.run([sys.executable, '-m', 'benchmarks', *cmd, '--out', "
            "str(out.resolve())], cwd=root, capture_output=True, text=True)\n"
            "print(run.stdout[-3000:])\nrun.check_returncode()",
        ),
        (
            "code",
            "from IPython.display import Markdown\n\n"
            "report = sorted(out.glob('*.md'))[0]\nMarkdown(report.read_text())",
        ),
    ],
}


def build() -> None:
    """Write every notebook (outputs empty: the docs build executes them)."""
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.metadata["colab"] = {"provenance": []}
        for kind, text in cells:
            text = text.replace("{badge}", badge(name)) if kind == "md" else text
            nb.cells.append(
                nbformat.v4.new_markdown_cell(text)
                if kind == "md"
                else nbformat.v4.new_code_cell(text)
            )
        nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    build()
