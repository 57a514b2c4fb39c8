# BasicVSR-lite on the paper profile: the dense config (the stage narrows the network to SSL's
# MACs), starting from the dense model's SPyNet, which trains after fix_iter as in BasicVSR.
_base_ = ['./train_dense_paper.py']
