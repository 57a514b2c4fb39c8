from .checkpoint import load_pruned, model_config, save_pruned
from .groups import ScaleGroup, kept_fraction, pick_pruned, scale_groups
from .regularization import (PenaltySchedule, SparsityOptimWrapper, SSLRegularizationHook,
                             add_penalty_grads, final_pruned_set)
from .slicing import prune

__all__ = [
    'PenaltySchedule', 'ScaleGroup', 'SSLRegularizationHook', 'SparsityOptimWrapper',
    'add_penalty_grads', 'final_pruned_set', 'kept_fraction', 'load_pruned', 'model_config', 'pick_pruned', 'prune',
    'save_pruned', 'scale_groups'
]
