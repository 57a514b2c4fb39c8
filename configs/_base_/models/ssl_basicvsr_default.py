# The default (CPU) profile's network: the same SSL-BasicVSR, narrow and shallow enough to
# train for real on 2 CPU cores in minutes; the HR head is as narrow as the trunk.
_base_ = ['./ssl_basicvsr.py']

model = dict(generator=dict(mid_channels=16, num_blocks=4, hr_channels=16))
