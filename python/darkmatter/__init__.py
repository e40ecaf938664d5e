"""darkmatter from Python: the envs, the EnvPool, episode files and the evaluation protocols
with your own model (Python callables).

    import darkmatter
    env = darkmatter.make("physics/collide", observation="pixels")
    obs, info = env.reset(seed=0)
"""

from . import _core
from . import episodes, protocols
from .envs import Env, EnvPool, make, tasks

__version__ = _core.__version__
__all__ = ["Env", "EnvPool", "make", "tasks", "episodes", "protocols", "__version__"]
