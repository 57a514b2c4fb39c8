from ..criteria import CRITERIA
from .checkpoint import load_network, model_config, save_network
from .contract import PrunableNetwork
from .groups import ScaleGroup, kept_fraction, pick_pruned, scale_groups
from .regularization import PenaltySchedule, SparsityOptimWrapper, SSLRegularizationHook, add_penalty_grads, final_pruned_set
from .slicing import prune

__all__ = [
    'CRITERIA', 'PenaltySchedule', 'PrunableNetwork', 'ScaleGroup', 'SSLRegularizationHook', 'SparsityOptimWrapper',
    'add_penalty_grads', 'final_pruned_set', 'kept_fraction', 'load_network', 'model_config', 'pick_pruned', 'prune',
    'save_network', 'scale_groups'
]
