"""nn: a tiny neural-network framework on microgradnp (modules, losses, optimizers, training)."""

from . import functional, metrics
from .data import DataLoader
from .layers import (
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from .linear_models import LinearRegression, LogisticRegression, SoftmaxRegression
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, Parameter, StateDictError
from .optim import SGD, Adam, AdamW, Optimizer
from .schedulers import CosineAnnealingLR, ExponentialLR, LambdaLR, LRScheduler, StepLR
from .serialization import load, save
from .training import Callback, EarlyStopping, History, NonFiniteLossError, fit

__all__ = [
    "SGD", "Adam", "AdamW", "BCELoss", "BCEWithLogitsLoss", "Callback", "CosineAnnealingLR",
    "CrossEntropyLoss", "DataLoader", "Dropout", "EarlyStopping", "ExponentialLR", "History",
    "Identity", "IncompatibleKeys", "L1Loss", "LRScheduler", "LambdaLR", "LeakyReLU", "Linear",
    "LinearRegression", "LogSoftmax", "LogisticRegression", "MSELoss", "Module", "NLLLoss",
    "NonFiniteLossError", "Optimizer", "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax",
    "SoftmaxRegression", "Softplus", "StateDictError", "StepLR", "Tanh", "fit", "functional",
    "load", "metrics", "save",
]
