"""The values params.yaml may name, in a leaf module (no torch, no MMagic, no OpenCV): the schema
(``ssl_mm.params``) reads them without importing the code that uses them, so checking params.yaml
is quick and a stage depends only on the code it runs."""
import re

LR_DIRS = {'bi': 'BIx4', 'bd': 'BDx4'}  # degradation -> its LR folder in every prepared set
# Activations of the network: MMagic's BasicVSR (LeakyReLU 0.1) and SSL's (ReLU), as MMagic configs.
ACTIVATIONS = {'leaky_relu': dict(type='LeakyReLU', negative_slope=0.1), 'relu': dict(type='ReLU')}
FINAL_PICKS = ('penalized', 'rerank')  # prune.final_pick (ssl_mm/pruning/regularization.py)
URL = re.compile(r'^[a-z][a-z0-9+.-]*://')  # http://, https://, s3://, ...: nothing is downloaded at run time
