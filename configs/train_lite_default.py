# BasicVSR-lite on the default profile: the dense config (the stage narrows the network to SSL's
# MACs), starting from the dense model's SPyNet and keeping it frozen, as every method after the
# dense model does on this profile (so all compared models share one SPyNet).
_base_ = ['./train_dense_default.py']

model = dict(train_cfg=dict(fix_iter=10**9))
custom_hooks = [dict(type='SharedFrozenSpyNetFlowsHook')]  # so its flows come from ssl_mm/models/flow_cache.py
