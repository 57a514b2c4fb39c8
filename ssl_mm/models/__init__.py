from .flow_cache import SharedFrozenSpyNetFlowsHook, cache_flows
from .scaled_conv import ScaledConv2d
from .ssl_basicvsr_net import SSLBasicVSRNet, SSLResidualBlock, shuffle_factors
from .temporal_finetuning import TemporalFinetuneBasicVSR, temporal_loss

__all__ = ['ScaledConv2d', 'SharedFrozenSpyNetFlowsHook', 'cache_flows', 'SSLBasicVSRNet', 'SSLResidualBlock', 'TemporalFinetuneBasicVSR',
           'shuffle_factors', 'temporal_loss']
