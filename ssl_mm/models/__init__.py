from .scaled_conv import ScaledConv2d
from .ssl_basicvsr_net import SSLBasicVSRNet, SSLResidualBlock, shuffle_factors

__all__ = ['ScaledConv2d', 'SSLBasicVSRNet', 'SSLResidualBlock', 'shuffle_factors']
