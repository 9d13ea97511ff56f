"""Reference PyTorch models with the layer layout (and so the state-dict keys) of the published
architectures deepcis.convert reads, written here from their published definitions (Selene's
models/deepsea.py and NonStrandSpecific; Kipoi's DeepSEA model_architecture.py and Basset
pretrained_model_reloaded_th.py), so the tests can compare the converted Keras models with them.
"""

import torch
from torch import nn


class SeleneDeepSEA(nn.Module):
    """Selene's DeepSEA: input (N, 4, L), hidden layer of n_targets units."""

    def __init__(self, sequence_length: int, n_targets: int):
        super().__init__()
        self.conv_net = nn.Sequential(
            nn.Conv1d(4, 320, 8), nn.ReLU(), nn.MaxPool1d(4, 4), nn.Dropout(0.2),
            nn.Conv1d(320, 480, 8), nn.ReLU(), nn.MaxPool1d(4, 4), nn.Dropout(0.2),
            nn.Conv1d(480, 960, 8), nn.ReLU(), nn.Dropout(0.5),
        )  # fmt: skip
        n = ((sequence_length - 7) // 4 - 7) // 4 - 7
        self.n_channels = n
        self.classifier = nn.Sequential(nn.Linear(960 * n, n_targets), nn.ReLU(), nn.Linear(n_targets, n_targets),
                                        nn.Sigmoid())  # fmt: skip

    def forward(self, x):
        out = self.conv_net(x)
        return self.classifier(out.reshape(out.size(0), 960 * self.n_channels))


class NonStrandSpecific(nn.Module):
    """Selene's wrapper in mode 'mean': the mean of the predictions of a window and its reverse
    complement (both axes flipped)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return (self.model(x) + self.model(torch.flip(x, [1, 2]))) / 2


class Flatten(nn.Module):
    def forward(self, x):
        return x.reshape(x.size(0), -1)


def _linear(n_in, n_out):
    # Kipoi's converted Lua models wrap each Linear in Sequential(Lambda(reshape), Linear): keys "<i>.1.*"
    return nn.Sequential(nn.Identity(), nn.Linear(n_in, n_out))


def kipoi_deepsea(n_targets: int = 919, sequence_length: int = 1000) -> nn.Sequential:
    """The original DeepSEA as Kipoi converted it: input (N, 4, 1, L) in the order A G C T."""
    n = ((sequence_length - 7) // 4 - 7) // 4 - 7
    return nn.Sequential(
        nn.Conv2d(4, 320, (1, 8)), nn.Threshold(0, 1e-6), nn.MaxPool2d((1, 4), (1, 4)), nn.Dropout(0.2),
        nn.Conv2d(320, 480, (1, 8)), nn.Threshold(0, 1e-6), nn.MaxPool2d((1, 4), (1, 4)), nn.Dropout(0.2),
        nn.Conv2d(480, 960, (1, 8)), nn.Threshold(0, 1e-6), nn.Dropout(0.5),
        Flatten(), _linear(960 * n, 925), nn.Threshold(0, 1e-6), _linear(925, n_targets), nn.Sigmoid(),
    )  # fmt: skip


def kipoi_basset(n_targets: int = 164, sequence_length: int = 600) -> nn.Sequential:
    """Kipoi's Basset: input (N, 4, L, 1) in the order A C G T."""
    n = sequence_length
    for k, p in ((19, 3), (11, 4), (7, 4)):
        n = (n - k + 1) // p
    return nn.Sequential(
        nn.Conv2d(4, 300, (19, 1)), nn.BatchNorm2d(300), nn.ReLU(), nn.MaxPool2d((3, 1), (3, 1)),
        nn.Conv2d(300, 200, (11, 1)), nn.BatchNorm2d(200), nn.ReLU(), nn.MaxPool2d((4, 1), (4, 1)),
        nn.Conv2d(200, 200, (7, 1)), nn.BatchNorm2d(200), nn.ReLU(), nn.MaxPool2d((4, 1), (4, 1)),
        Flatten(), _linear(200 * n, 1000), nn.BatchNorm1d(1000, 1e-05, 0.1, True), nn.ReLU(), nn.Dropout(0.3),
        _linear(1000, 1000), nn.BatchNorm1d(1000, 1e-05, 0.1, True), nn.ReLU(), nn.Dropout(0.3),
        _linear(1000, n_targets), nn.Sigmoid(),
    )  # fmt: skip


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Seeded random weights, biases and batch-norm statistics (not Torch's zeros and ones), eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                # Torch's default init draws from the global RNG, so weights would depend on
                # which tests ran before; redraw them (same uniform bound) from the seeded generator
                bound = 1.0 / module.weight[0].numel() ** 0.5
                module.weight.copy_((torch.rand(module.weight.shape, generator=gen) * 2 - 1) * bound)
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = module.num_features
                module.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                module.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.01)
                module.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(c, generator=gen) * 0.2)
    return model.eval()
