from .evaluate import bicubic_upscaler, evaluate, network_upscaler, summarize, super_resolve, write_results
from .protocols import PROTOCOLS, Protocol

__all__ = ['PROTOCOLS', 'Protocol', 'bicubic_upscaler', 'evaluate', 'network_upscaler', 'summarize',
           'super_resolve', 'write_results']
