"""nn: a tiny neural-network framework on microgradnp (modules, losses, optimizers, training)."""

from . import functional, init, metrics, utils
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .data import DataLoader
from .layers import (
    ELU,
    GELU,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleDict,
    ModuleList,
    ReLU,
    Sequential,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
)
from .linear_models import LinearRegression, LogisticRegression, SoftmaxRegression
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .model_summary import Summary, summary
from .module import IncompatibleKeys, Module, Parameter, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .optim import SGD, Adam, AdamW, Optimizer
from .schedulers import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LRScheduler,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)
from .serialization import load, save
from .training import Callback, EarlyStopping, History, NonFiniteLossError, fit

__all__ = [
    "ELU", "GELU", "SGD", "Adam", "AdamW", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss",
    "BatchNorm1d", "BatchNorm2d", "Callback", "Conv2d", "CosineAnnealingLR", "CrossEntropyLoss",
    "DataLoader", "Dropout", "EarlyStopping", "Embedding", "ExponentialLR", "Flatten", "History",
    "Identity", "IncompatibleKeys", "L1Loss", "LRScheduler", "LambdaLR", "LayerNorm", "LeakyReLU",
    "Linear", "LinearRegression", "LogSoftmax", "LogisticRegression", "MSELoss", "MaxPool2d",
    "Module", "ModuleDict", "ModuleList", "NLLLoss", "NonFiniteLossError", "OneCycleLR",
    "Optimizer", "Parameter", "ReLU", "ReduceLROnPlateau", "Sequential", "SiLU", "Sigmoid",
    "Softmax", "SoftmaxRegression", "Softplus", "StateDictError", "StepLR", "Summary", "Tanh",
    "Unflatten", "fit", "functional", "init", "load", "metrics", "save", "summary", "utils",
]
