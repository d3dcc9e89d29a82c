"""A faithful, deterministic 3CX V20 Configuration API (XAPI) simulator.

Used by tests (in-process, over real loopback HTTP), by the demo (`manage.py
threecx_simulator`) and by benchmarks (10,000 users, 200,000 contacts). It never imports
Django.

    sim = Simulator(SimulatorConfig(seed=1, users=50, contacts=200))
    sim.faults.add(Fault(match=r"^/xapi/v1/Users", kind="status", status=429, retry_after=2))
    with SimulatorServer(sim) as server:
        ...  # talk to server.base_url
"""

from .app import Simulator
from .config import SimulatorConfig
from .faults import FAULT_KINDS, Fault, FaultSet
from .server import SimulatorServer

__all__ = ["FAULT_KINDS", "Fault", "FaultSet", "Simulator", "SimulatorConfig", "SimulatorServer"]
