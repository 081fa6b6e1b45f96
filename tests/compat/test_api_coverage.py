"""The PyTorch names eagerlab serves through the runner, checked both ways: each resolves under
`python -m eagerlab.compat.torch` to eagerlab's own object, and (where PyTorch is installed) each is a real PyTorch
name, so this list is what a PyTorch user can count on. Add a name here when eagerlab gains it."""
import importlib
import json

import pytest

from ._run import last_json, run_compat

SERVED = {
    "torch": """Tensor FloatTensor DoubleTensor LongTensor IntTensor ByteTensor BoolTensor HalfTensor Size device dtype
        float16 float32 float64 int8 int16 int32 int64 uint8 bool half float double short int long
        tensor as_tensor from_numpy zeros ones empty full zeros_like ones_like empty_like full_like arange linspace eye
        rand randn randint randperm rand_like randn_like multinomial manual_seed seed get_rng_state set_rng_state
        Generator no_grad enable_grad set_grad_enabled is_grad_enabled inference_mode
        cat stack split chunk tril triu where clamp round erf exp log sigmoid tanh softmax log_softmax sign abs sqrt
        matmul bmm einsum sum mean max min argmax argmin logsumexp topk sort unique cumsum
        save load numel is_tensor is_floating_point cuda backends accelerator onnx nn optim autograd utils testing""",
    "torch.cuda": "is_available device_count manual_seed manual_seed_all is_bf16_supported synchronize set_device "
                  "current_device get_device_capability",
    "torch.accelerator": "is_available current_accelerator device_count",
    "torch.backends.cuda": "matmul",
    "torch.backends.cudnn": "benchmark deterministic allow_tf32 enabled is_available",
    "torch.backends.mps": "is_available",
    "torch.nn": """Module Parameter Linear Bilinear Identity Flatten Unflatten Conv1d Conv2d ConvTranspose1d
        ConvTranspose2d MaxPool1d MaxPool2d AvgPool1d AvgPool2d AdaptiveAvgPool1d AdaptiveAvgPool2d BatchNorm1d
        BatchNorm2d LayerNorm GroupNorm Dropout Dropout2d Embedding RNN LSTM GRU RNNCell LSTMCell GRUCell
        MultiheadAttention TransformerEncoder TransformerEncoderLayer ReLU LeakyReLU GELU SiLU Tanh Sigmoid Softmax
        LogSoftmax ELU Softplus Sequential ModuleList ModuleDict ParameterList ParameterDict CrossEntropyLoss
        NLLLoss MSELoss L1Loss BCELoss BCEWithLogitsLoss SmoothL1Loss HuberLoss KLDivLoss Upsample
        functional init utils parallel""",
    "torch.nn.functional": """relu gelu silu leaky_relu elu tanh sigmoid softmax log_softmax dropout linear conv2d
        max_pool2d avg_pool2d adaptive_avg_pool2d cross_entropy nll_loss mse_loss l1_loss binary_cross_entropy
        binary_cross_entropy_with_logits smooth_l1_loss kl_div layer_norm embedding one_hot pad interpolate
        scaled_dot_product_attention normalize""",
    "torch.nn.init": "xavier_uniform_ xavier_normal_ kaiming_uniform_ kaiming_normal_ normal_ uniform_ zeros_ ones_ "
                     "constant_ orthogonal_",
    "torch.nn.utils": "clip_grad_norm_ clip_grad_value_ parameters_to_vector vector_to_parameters",
    "torch.nn.parallel": "DataParallel DistributedDataParallel",
    "torch.distributed": "init_process_group destroy_process_group is_initialized is_available get_rank "
                         "get_world_size all_reduce broadcast barrier ReduceOp",
    "torch.nn.modules.activation": "ReLU GELU MultiheadAttention",
    "torch.nn.modules.linear": "Linear NonDynamicallyQuantizableLinear",
    "torch.nn.modules.transformer": "TransformerEncoder TransformerEncoderLayer",
    "torch.nn.modules.rnn": "RNN LSTM GRU",
    "torch.nn.modules.sparse": "Embedding",
    "torch.nn.modules.dropout": "Dropout",
    "torch.nn.modules.normalization": "LayerNorm",
    "torch.nn.modules.container": "ModuleList Sequential",
    "torch.serialization": "add_safe_globals get_safe_globals clear_safe_globals safe_globals",
    "torch.optim": "Optimizer SGD Adam AdamW RMSprop Adagrad Adadelta lr_scheduler",
    "torch.optim.lr_scheduler": "StepLR MultiStepLR ExponentialLR CosineAnnealingLR LambdaLR OneCycleLR "
                                "ReduceLROnPlateau LinearLR",
    "torch.autograd": "grad backward Function gradcheck gradgradcheck",
    "torch.utils.data": "Dataset IterableDataset TensorDataset Subset DataLoader random_split Sampler "
                        "SequentialSampler RandomSampler SubsetRandomSampler WeightedRandomSampler BatchSampler "
                        "default_collate DistributedSampler",
    "torch.utils.tensorboard": "SummaryWriter",
    "torch.onnx": "export TrainingMode",
    "torch.testing": "assert_close",
    "torchvision.datasets": "MNIST FashionMNIST",
    "torchvision.transforms": "Compose ToTensor Normalize Lambda RandomHorizontalFlip RandomCrop",
    "torchvision.utils": "make_grid save_image",
}
TENSOR_METHODS = """view view_as reshape reshape_as type type_as to cpu float double long int bool half new_tensor
    new_zeros new_ones new_full new_empty pin_memory round item tolist numpy detach clone contiguous size dim numel
    split chunk transpose permute unsqueeze squeeze expand masked_fill masked_fill_ zero_ fill_ add_ mul_ copy_
    backward retain_grad register_hook requires_grad_ is_contiguous stride element_size""".split()

CHECK = r'''
import importlib, json, sys
served, methods = json.load(open(sys.argv[1]))
missing = []
for module, names in served.items():
    try:
        m = importlib.import_module(module)
    except ImportError as e:
        missing.append(f"{module} ({e})")
        continue
    missing += [f"{module}.{n}" for n in names if not hasattr(m, n)]
import torch
missing += [f"Tensor.{n}" for n in methods if not hasattr(torch.Tensor, n)]
owners = sorted({getattr(importlib.import_module(m), "__name__", "?").split(".")[0] for m in served})
print(json.dumps({"missing": missing, "owners": owners}))
'''


def _served():
    return {module: names.split() for module, names in SERVED.items()}


def test_every_listed_pytorch_name_is_served_by_eagerlab(tmp_path):
    (tmp_path / "names.json").write_text(json.dumps([_served(), TENSOR_METHODS]))
    (tmp_path / "check.py").write_text(CHECK)
    out = last_json(run_compat([str(tmp_path / "check.py"), str(tmp_path / "names.json")]).stdout)
    assert out["missing"] == []
    assert out["owners"] == ["eagerlab"]  # every module served is one of eagerlab's (torchvision: compat's parent)


def test_every_listed_name_is_a_pytorch_name():
    pytest.importorskip("torch")
    tv = {"torchvision.datasets", "torchvision.transforms", "torchvision.utils"}
    missing = []
    for module, names in _served().items():
        if module in tv:
            continue
        m = importlib.import_module(module)
        missing += [f"{module}.{n}" for n in names if not hasattr(m, n)]
    torch = importlib.import_module("torch")
    missing += [f"Tensor.{n}" for n in TENSOR_METHODS if not hasattr(torch.Tensor, n)]
    assert missing == []
