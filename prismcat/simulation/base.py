"""The simulator contract: what a backend declares, what it must implement, what it gets back.

Two ways to write a backend:

- :class:`prismcat.simulation.arrays.ArraySimulator`, the short one: implement ``asarray`` and
  ``to_numpy`` for your array library and prismcat runs everything else (the formulation's flow,
  fixed-step loops, the adaptive integrator with its log clock, divergence checks, the output).
- :class:`Simulator`, the full one: implement ``integrate(prepared)`` yourself (the jax backend
  does, to compile whole loops).

Either way the backend *declares* what it can run (``formulations``, ``methods``) and prismcat
negotiates each problem with it (:func:`prismcat.simulation.plan.resolve`): a backend that runs only
the plain W-flow on X is handed that flow, never asked for another.
"""

from __future__ import annotations

import abc
import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ValidationError

from prismcat.errors import PluginError, PrismcatError
from prismcat.settings import DEFAULT_FAMILY
from prismcat.simulation.plan import Offer, Prepared


class SimulationError(PrismcatError):
    """The finite-size run failed (divergence, solver failure); says when, with which step."""

    def __init__(self, message: str, time: float | None = None, dt: float | None = None):
        super().__init__(message)
        self.time, self.dt = time, dt


@dataclass
class Integrated:
    """A backend's answer for a batch of B problems at T output times."""

    train: np.ndarray  # (B, T): L_train / d
    population: np.ndarray  # (B, T): L_pop / d
    final: np.ndarray  # (B, ...) final state (numpy), for the spectrum
    evals: int = 0
    steps: int = 0
    details: dict = field(default_factory=dict)


class Simulator(abc.ABC):
    """A backend that runs the finite-size autoencoder; register an instance with
    ``register_simulators``.

    Must set ``name`` and implement :meth:`integrate`. May set:

    - ``formulations``: the state layouts ``integrate`` accepts, in order of preference (default:
      only ``data-w``, the plain W-flow on X; see :mod:`prismcat.simulation.kernels`);
    - ``methods``: the integrators it runs (default all three); a problem asking for another is
      given the first of these (its step filled in by prismcat's defaults);
    - ``cost_model = True`` to let prismcat pick the cheapest declared formulation for each problem
      by its flop model, instead of the first one the problem allows;
    - ``Options``: a pydantic model of the backend's options, passed as ``--backend NAME:KEY=VALUE``
      or ``--option KEY=VALUE`` on the command line and ``configure(...)`` in Python;
    - :meth:`available`, :meth:`fingerprint`, :meth:`offer` (e.g. to fix the step from an option).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    family: ClassVar[str] = DEFAULT_FAMILY  # the model family whose problems it runs
    formulations: ClassVar[tuple[str, ...]] = ("data-w",)
    methods: ClassVar[tuple[str, ...]] = ("euler", "rk4", "adaptive")
    cost_model: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel] | None] = None

    _options: BaseModel | None = None

    @property
    def options(self) -> BaseModel | None:
        """The validated options (the defaults until :meth:`configure` sets some)."""
        if self._options is None and self.Options is not None:
            self._options = self.Options()
        return self._options

    def configure(self, **options: Any) -> Simulator:
        """A copy of this backend with ``options`` (validated by ``Options``)."""
        if not options:
            return self
        if self.Options is None:
            raise PluginError(f"simulator backend '{self.name}' takes no options (got {', '.join(options)})")
        try:
            values = self.Options(**{**self.options.model_dump(), **options})
        except ValidationError as exc:
            problems = "; ".join(
                f"option '{'.'.join(str(p) for p in e['loc']) or '?'}': {e['msg']}" for e in exc.errors()
            )
            known = ", ".join(self.Options.model_fields)
            raise PluginError(f"simulator backend '{self.name}': {problems} (options: {known})") from None
        new = copy.copy(self)
        new._options = values
        return new

    def spec(self) -> str:
        """``name`` or ``name:key=value,...`` for the options that differ from the defaults."""
        if self.Options is None:
            return self.name
        defaults = self.Options().model_dump()
        changed = {k: v for k, v in self.options.model_dump().items() if defaults.get(k) != v}
        return self.name + (":" + ",".join(f"{k}={v}" for k, v in sorted(changed.items())) if changed else "")

    def offer(self) -> Offer:
        """What this backend runs, for the negotiation (override to fix the step, say)."""
        return Offer(
            tuple(self.formulations),
            tuple(self.methods),
            bool(self.cost_model),
            backend=f"simulator backend '{self.name}'",
        )

    def available(self) -> tuple[bool, str]:
        """Whether the backend can run here and a one-line detail (why not, or the version)."""
        return True, ""

    def fingerprint(self) -> dict[str, str]:
        """What else determines this backend's numbers: library versions, the device. It goes into
        the cache key with the problem, the options and a hash of the backend's source."""
        return {}

    @abc.abstractmethod
    def integrate(self, prepared: Prepared) -> Integrated:
        """Run the batch ``prepared`` (its formulation and integrator already negotiated)."""


def divergence_message(time: float, dt: float | None, rate: float, what: str) -> str:
    """The message for a run that produced non-finite values or exploded."""
    step = f" with step dt = {dt:g}" if dt is not None else ""
    bound = 2.0 / rate if rate > 0 else float("nan")
    return (
        f"the run diverged at t = {time:.6g}{step}: {what}. "
        f"Explicit steps must stay below roughly {bound:.3g} (2 / initial rate); "
        "use a smaller --dt or --integrator adaptive"
    )


def blowup_threshold(prepared: Prepared) -> float:
    """Tr W^T W (or Tr P) above which a run counts as exploded."""
    p = prepared.problem
    scale = max(1.0, p.sigma2 * p.d * p.k, float(p.d))
    return 1e6 * scale
