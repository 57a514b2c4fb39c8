"""Training a network the pipeline's way, shared by the training stages (dense, lite, sparsify,
finetune): the profile's mmengine config with params.yaml applied (``config``), resumable
training with atomic checkpoints (``resume``), the recorded scalars and loss curve
(``record``), and torchrun for the paper profile (``distributed``)."""
